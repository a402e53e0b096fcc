import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import Database from 'better-sqlite3';
import { p256 } from '@noble/curves/nist.js';
import {
  SqliteDeviceStore,
  ephemeralServerCertificate,
  judgeEnvelope,
  messageEndpoint,
  type DeviceEntry,
  type MessageDecision,
} from '../../server/index.ts';
import { sealForServer } from '../../server/envelope/envelope.ts';

const serverPrivate = p256.utils.randomSecretKey();
const serverPublic = p256.getPublicKey(serverPrivate, false);
const key = { privateKey: serverPrivate, publicKey: serverPublic };

interface Board {
  entry: DeviceEntry;
  mcuPrivate: Uint8Array;
  mcuPublic: Uint8Array;
}

function board(n: number, revoked = false): Board {
  const mcuPrivate = p256.utils.randomSecretKey();
  const mcuPublic = p256.getPublicKey(mcuPrivate, false);
  const id = `kl1-${String(n).padStart(24, '0')}`;
  return {
    mcuPrivate,
    mcuPublic,
    entry: {
      deviceId: id,
      stationId: 'station-1',
      commitIndex: n,
      hardwareIds: {
        imei: `86000000000000${n}`,
        iccid: `894900000000000000${n}`,
        mcuUid: '00'.repeat(12),
      },
      modem: { model: 'EC25', firmware: 'FW' },
      modemCertSha256Hex: String(n).repeat(64).slice(0, 64),
      mcuCertSha256Hex: String(n + 1)
        .repeat(64)
        .slice(0, 64),
      modemSerialHex: `0${n}`,
      mcuSerialHex: `1${n}`,
      mcuPublicKeyHex: Buffer.from(mcuPublic).toString('hex'),
      batch: 'b',
      committedAt: '2026-01-01T00:00:00Z',
      revoked: revoked ? { index: 99, at: '2026-02-01T00:00:00Z', reason: 'stolen' } : null,
      findings: [],
      modemKeyReadable: false,
    },
  };
}

let dir: string;
let dbPath: string;
const a = board(1);
const b = board(2, true);

function openStore(): SqliteDeviceStore {
  return new SqliteDeviceStore(dbPath);
}

function sealed(from: Board, counter: bigint, text = `reading ${counter}`): Uint8Array {
  return sealForServer({
    mcuPrivateKey: from.mcuPrivate,
    mcuPublicKey: from.mcuPublic,
    serverPublicKey: serverPublic,
    counter,
    plaintext: new TextEncoder().encode(text),
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-field-endpoint-'));
  dbPath = join(dir, 'devices.sqlite');
  const store = openStore();
  const imp = store.beginImport();
  imp.addDevice(a.entry);
  imp.addDevice(b.entry);
  imp.commit({
    stationId: 'station-1',
    treeSize: 3,
    rootHashHex: '00'.repeat(32),
    checkpointJson: '{}',
    stationSpkiB64: '',
    caChainDer: [],
  });
  store.close();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the replay window is kept per device in the store and survives a restart', () => {
  let store = openStore();
  const verdict = (counter: bigint) => {
    const v = judgeEnvelope(store, key, a.entry, sealed(a, counter));
    return v.ok ? 'accepted' : v.reason;
  };
  try {
    assert.equal(verdict(5n), 'accepted');
    assert.equal(verdict(5n), 'replay');
    assert.equal(verdict(4n), 'accepted', 'late but inside the window');
    assert.equal(verdict(200n), 'accepted');
    assert.equal(verdict(100n), 'replay', 'below the 64-message window');
  } finally {
    store.close();
  }
  store = openStore();
  try {
    assert.equal(verdict(200n), 'replay', 'remembered after reopening the store');
    assert.equal(verdict(4n), 'replay');
    assert.equal(verdict(199n), 'accepted');
  } finally {
    store.close();
  }
});

test('a revoked device is refused even with a valid tag; plaintext only for accepted envelopes', () => {
  const store = openStore();
  try {
    const v = judgeEnvelope(store, key, b.entry, sealed(b, 1n, 'from a stolen board'));
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'revoked');
    const ok = judgeEnvelope(store, key, a.entry, sealed(a, 1000n, 'fine'));
    assert.equal(ok.ok && Buffer.from(ok.message.plaintext).toString(), 'fine');
  } finally {
    store.close();
  }
});

test('a store file from before the key-ID index gets it filled on open', () => {
  const raw = new Database(dbPath);
  raw.exec('DELETE FROM envelope_keys');
  raw.close();
  const store = openStore();
  try {
    const keyId = Buffer.from(sealed(a, 1n).subarray(4, 12)).toString('hex');
    assert.deepEqual(
      store.devicesByEnvelopeKeyId(keyId).map((d) => d.deviceId),
      [a.entry.deviceId],
    );
  } finally {
    store.close();
  }
});

/** A message frame as the endpoint reads it: 2-byte big-endian length, then the envelope. */
function frame(envelope: Uint8Array): Buffer {
  const f = Buffer.alloc(2 + envelope.length);
  f.writeUInt16BE(envelope.length, 0);
  f.set(envelope, 2);
  return f;
}

/**
 * The message endpoint served over TLS (ephemeral certificate) as board `a`'s session,
 * with one client connected; `answers()` is every line the client has received so far.
 */
async function tlsSession(store: SqliteDeviceStore): Promise<{
  sock: TLSSocket;
  decisions: MessageDecision[];
  answers: () => string;
  close: () => Promise<void>;
}> {
  const creds = await ephemeralServerCertificate();
  const decisions: MessageDecision[] = [];
  const handler = messageEndpoint({ store, key, onDecision: (d) => decisions.push(d) });
  const server: Server = createServer(creds, (s) => handler(s, a.entry));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  try {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const sock = connect({ host: '127.0.0.1', port, ca: creds.cert });
    await once(sock, 'secureConnect');
    let answers = '';
    sock.on('data', (d: Buffer) => (answers += d.toString()));
    return { sock, decisions, answers: () => answers, close };
  } catch (e) {
    await close();
    throw e;
  }
}

test('framing over TLS: frames split or batched get one answer line each; an impossible length ends the connection', async () => {
  const store = openStore();
  const session = await tlsSession(store);
  const { sock, decisions } = session;
  try {
    const f1 = frame(sealed(a, 2000n));
    const f2 = frame(sealed(a, 2001n));
    const f3 = frame(sealed(a, 2001n));
    sock.write(Buffer.concat([f1, f2]));
    sock.write(f3.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 50));
    sock.write(f3.subarray(5));
    sock.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await once(sock, 'close');
    assert.equal(session.answers(), 'ok 2000\nok 2001\nrejected replay\nrejected too-large\n');
    assert.deepEqual(
      decisions.map((d) => d.reason),
      ['accepted', 'accepted', 'replay', 'too-large'],
    );
    assert.ok(decisions.every((d) => d.tlsDeviceId === a.entry.deviceId));
    assert.equal(JSON.parse(JSON.stringify(decisions[2])).counter, '2001', 'a JSON line each');
  } finally {
    await session.close();
    store.close();
  }
});

test('a store that fails mid-session gets the frame refused as server-error, not a crash', async () => {
  const store = openStore();
  const session = await tlsSession(store);
  const { sock, decisions } = session;
  try {
    store.close();
    const f = frame(sealed(a, 5000n));
    sock.write(Buffer.concat([f, f]));
    await once(sock, 'close');
    assert.equal(session.answers(), 'rejected server-error\n');
    assert.deepEqual(
      decisions.map((d) => d.reason),
      ['server-error'],
    );
  } finally {
    await session.close();
    store.close();
  }
});
