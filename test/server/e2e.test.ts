import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { LedgerWriter, exportLedger, readCheckpointFile } from '../../main/ledger/index.ts';
import {
  LedgerForkError,
  ImportRefusedError,
  SqliteDeviceStore,
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  type DecisionEvent,
  type DeviceServer,
  type TlsServerCredentials,
} from '../../server/index.ts';
import { tempDir, testEd25519Signer } from '../ledger/helpers.ts';
import { issueBoard, testPki, type TestPki } from '../ledger/pki.ts';

type Board = Awaited<ReturnType<typeof issueBoard>>;

const tmp = tempDir('server');
const signer = testEd25519Signer(9);
let pki: TestPki;
let otherPki: TestPki;
let good: Board;
let aborted: Board;
let stranger: Board;
let writer: LedgerWriter;
let goodCommitIndex: number;
let store: SqliteDeviceStore;
let server: DeviceServer;
let serverTls: TlsServerCredentials;
const decisions: DecisionEvent[] = [];
let export1: string;

before(async () => {
  pki = await testPki();
  otherPki = await testPki('Other Factory');
  writer = await LedgerWriter.open(join(tmp.path, 'ledger'), {
    signer,
    stationId: 'st-srv',
    caChainDer: pki.chainDer,
  });
  good = await issueBoard(pki, 21);
  aborted = await issueBoard(pki, 22);
  stranger = await issueBoard(otherPki, 23);
  const gi = await writer.append(good.intent);
  const ai = await writer.append(aborted.intent);
  goodCommitIndex = (await writer.append(good.commit(gi.index))).index;
  await writer.append({
    type: 'abort',
    intentIndex: ai.index,
    deviceId: aborted.issued.deviceId,
    step: 'modem-write',
    reason: 'CME ERROR: 409',
    revokeSerialsHex: [aborted.issued.modem.serialHex, aborted.issued.mcu.serialHex],
  });
  export1 = join(tmp.path, 'export-1');
  await exportLedger(writer, { outDir: export1, issuer: pki.issuer, caChainDer: pki.chainDer });
  store = new SqliteDeviceStore(join(tmp.path, 'devices.sqlite'));
  const r = importExport(store, export1);
  assert.equal(r.devicesAdded, 1);
  serverTls = await ephemeralServerCertificate();
  server = await createDeviceServer({
    store,
    tls: serverTls,
    port: 0,
    onDecision: (d) => decisions.push(d),
  });
});

after(async () => {
  await server?.close();
  store?.close();
  await writer?.close();
  tmp.remove();
});

/** Connects with a board's modem certificate; resolves with what the server sent. */
function tlsClient(board: Board): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port: server.port,
      cert: board.issued.modem.certificatePem,
      key: Buffer.from(board.issued.modem.privateKeyPem!),
      ca: serverTls.cert,
      checkServerIdentity: () => undefined,
    });
    let data = '';
    const timer = setTimeout(() => s.destroy(new Error('timeout')), 20_000);
    s.on('data', (d) => (data += d.toString()));
    s.on('error', (e) => {
      clearTimeout(timer);
      resolve({ data, error: e.message });
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data });
    });
  });
}

function lastDecision(): DecisionEvent {
  return decisions[decisions.length - 1];
}

describe('reference mutual-TLS server', () => {
  it('accepts the committed device and answers with its hardware IDs and MCU key', async () => {
    const r = await tlsClient(good);
    const answer = JSON.parse(r.data.trim());
    assert.equal(answer.accepted, true);
    assert.equal(answer.deviceId, good.issued.deviceId);
    assert.deepEqual(answer.hardwareIds, good.issued.ids);
    assert.equal(answer.mcuPublicKeyHex, Buffer.from(good.issued.mcu.publicKey).toString('hex'));
    assert.equal(lastDecision().reason, 'committed');
    assert.equal(lastDecision().findings?.[0].severity, 'high');
    const dev = store.devicesById(good.issued.deviceId)[0];
    assert.equal(dev.findings[0].id, 'adb-salt');
    assert.equal(dev.modemKeyReadable, false);
  });

  it('rejects an aborted device, a certificate of another CA and no certificate', async () => {
    const a = await tlsClient(aborted);
    assert.equal(a.data, '');
    assert.equal(lastDecision().reason, 'aborted');
    const o = await tlsClient(stranger);
    assert.equal(o.data, '');
    assert.equal(lastDecision().reason, 'untrusted-chain');
    assert.equal(lastDecision().accepted, false);
  });

  it('accepts the device through openssl s_client too', async () => {
    const certFile = join(tmp.path, 'good.pem');
    const keyFile = join(tmp.path, 'good.key');
    const caFile = join(tmp.path, 'server.pem');
    writeFileSync(certFile, good.issued.modem.certificatePem);
    writeFileSync(keyFile, Buffer.from(good.issued.modem.privateKeyPem!), { mode: 0o600 });
    writeFileSync(caFile, serverTls.cert);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${server.port}`,
          '-cert',
          certFile,
          '-key',
          keyFile,
          '-CAfile',
          caFile,
          '-ign_eof',
          '-quiet',
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let text = '';
      p.stdout.on('data', (d) => (text += d.toString()));
      p.stderr.on('data', (d) => (text += d.toString()));
      const timer = setTimeout(() => p.kill(), 30_000);
      p.on('error', reject);
      p.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      p.stdin.end();
    });
    assert.match(out, /"accepted":true/);
    assert.match(out, /verify return:1/);
    assert.equal(lastDecision().deviceId, good.issued.deviceId);
  });

  it('rejects the device after a revoke record arrives in an incremental export', async () => {
    await writer.append({
      type: 'revoke',
      deviceId: good.issued.deviceId,
      commitIndex: goodCommitIndex,
      revokeSerialsHex: [good.issued.modem.serialHex, good.issued.mcu.serialHex],
      reason: 'board stolen',
      operator: 'op',
    });
    const export2 = join(tmp.path, 'export-2');
    await exportLedger(writer, {
      outDir: export2,
      issuer: pki.issuer,
      caChainDer: pki.chainDer,
      since: readCheckpointFile(export1),
    });
    const r = importExport(store, export2);
    assert.equal(r.devicesRevoked, 1);
    assert.equal(importExport(store, export2).alreadyImported, true);
    const c = await tlsClient(good);
    assert.equal(c.data, '');
    assert.equal(lastDecision().reason, 'revoked');
    assert.match(lastDecision().detail, /board stolen/);
  });

  it('refuses a forked history and an export that skips records, changing nothing', async () => {
    const forkLedger = await LedgerWriter.open(join(tmp.path, 'fork'), {
      signer,
      stationId: 'st-srv',
      caChainDer: pki.chainDer,
    });
    try {
      for (let n = 31; n < 31 + 8; n++) await forkLedger.append((await issueBoard(pki, n)).intent);
      const forkExport = join(tmp.path, 'fork-export');
      const start = await forkLedger.checkpoint();
      await forkLedger.append((await issueBoard(pki, 40)).intent);
      await exportLedger(forkLedger, {
        outDir: forkExport,
        issuer: pki.issuer,
        caChainDer: pki.chainDer,
      });
      const before = store.checkpoint('st-srv');
      assert.throws(() => importExport(store, forkExport), LedgerForkError);
      const gapExport = join(tmp.path, 'gap-export');
      await forkLedger.append((await issueBoard(pki, 41)).intent);
      await exportLedger(forkLedger, {
        outDir: gapExport,
        issuer: pki.issuer,
        caChainDer: pki.chainDer,
        since: start,
      });
      assert.throws(() => importExport(store, gapExport), ImportRefusedError);
      assert.deepEqual(store.checkpoint('st-srv'), before);
    } finally {
      await forkLedger.close();
    }
    const fresh = new SqliteDeviceStore();
    try {
      assert.throws(() => importExport(fresh, join(tmp.path, 'export-2')), ImportRefusedError);
    } finally {
      fresh.close();
    }
  });
});
