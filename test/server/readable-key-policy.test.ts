import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { p256 } from '@noble/curves/nist.js';
import { LedgerWriter, exportLedger } from '../../main/ledger/index.ts';
import {
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  SqliteDeviceStore,
  type DecisionEvent,
  type DeviceServerOptions,
  type TlsServerCredentials,
} from '../../server/index.ts';
import { tempDir, testEd25519Signer } from '../ledger/helpers.ts';
import { issueBoard, testPki } from '../ledger/pki.ts';

// Issue 12: the server acts on the station's audit. A device whose modem key was found
// readable over AT is refused, unless the endpoint takes only MCU-sealed payloads.
type Board = Awaited<ReturnType<typeof issueBoard>>;
const tmp = tempDir('readable-key');
let exposed: Board;
let hardened: Board;
let store: SqliteDeviceStore;
let tls: TlsServerCredentials;

before(async () => {
  const pki = await testPki();
  const writer = await LedgerWriter.open(join(tmp.path, 'ledger'), {
    signer: testEd25519Signer(6),
    stationId: 'st-policy',
    caChainDer: pki.chainDer,
  });
  exposed = await issueBoard(pki, 51);
  hardened = await issueBoard(pki, 52);
  const e = await writer.append(exposed.intent);
  await writer.append({ ...exposed.commit(e.index), modemKeyReadable: true } as ReturnType<
    Board['commit']
  >);
  const h = await writer.append(hardened.intent);
  await writer.append(hardened.commit(h.index));
  await exportLedger(writer, {
    outDir: join(tmp.path, 'export'),
    issuer: pki.issuer,
    caChainDer: pki.chainDer,
  });
  await writer.close();
  store = new SqliteDeviceStore(':memory:');
  importExport(store, join(tmp.path, 'export'));
  tls = await ephemeralServerCertificate();
});
after(() => {
  store.close();
  tmp.remove();
});

async function decide(board: Board, opts: Partial<DeviceServerOptions>): Promise<DecisionEvent> {
  const decisions: DecisionEvent[] = [];
  const server = await createDeviceServer({
    store,
    tls,
    port: 0,
    onDecision: (d) => decisions.push(d),
    ...opts,
  });
  try {
    await new Promise<void>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port: server.port,
        cert: board.issued.modem.certificatePem,
        key: Buffer.from(board.issued.modem.privateKeyPem!),
        rejectUnauthorized: false,
      });
      s.on('data', () => s.end());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
      s.setTimeout(5000, () => s.destroy());
    });
    for (let i = 0; i < 50 && decisions.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(decisions.length, 1);
    return decisions[0];
  } finally {
    await server.close();
  }
}

const e2eKey = () => {
  const privateKey = p256.utils.randomSecretKey();
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
};

describe('server policy on readable modem keys', () => {
  it('refuses the exposed device on a plain endpoint, naming the reason', async () => {
    const d = await decide(exposed, { refuseReadableModemKeyUnlessSealed: true });
    assert.equal(d.accepted, false);
    assert.equal(d.reason, 'modem-key-readable');
    assert.equal(d.modemKeyReadable, true);
  });

  it('accepts the same device when the endpoint takes only MCU-sealed payloads', async () => {
    const d = await decide(exposed, {
      refuseReadableModemKeyUnlessSealed: true,
      endToEnd: { key: e2eKey() },
    });
    assert.equal(d.accepted, true, d.detail);
  });

  it('accepts a device whose key the audit found unreadable, and everyone when the policy is off', async () => {
    assert.equal(
      (await decide(hardened, { refuseReadableModemKeyUnlessSealed: true })).accepted,
      true,
    );
    assert.equal((await decide(exposed, {})).accepted, true);
  });
});
