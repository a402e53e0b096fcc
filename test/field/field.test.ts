import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { decodePkcs8, pemDecodeAll } from '../../certs/index.ts';
import { exportLedger } from '../../main/ledger/export.ts';
import { decodeCredentialBlob } from '../../main/mcu/index.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { unlockStation } from '../../main/pipeline/station.ts';
import {
  SqliteDeviceStore,
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  type AcceptedMessage,
  type DecisionEvent,
  type DeviceServer,
  type MessageDecision,
} from '../../server/index.ts';
import { deriveEnvelopeKey, sealForServer } from '../../server/envelope/envelope.ts';
import {
  BusAttacker,
  envelopesOnWire,
  startFieldBoard,
  type FieldBoard,
  type McuFirmware,
} from '../../sim/field/index.ts';
import { metaPathFor } from '../../sim/stm32/flash-store.ts';
import { startFixture, type FixtureSlot } from '../../sim/index.ts';
import { PASSPHRASE, makeStation, writeProfile } from '../pipeline/helpers.ts';

const CREDENTIAL_ADDRESS = 0x080e0000;
const HOST = '127.0.0.1';

let dir: string;
let store: SqliteDeviceStore;
let server: DeviceServer;
const serverPrivate = p256.utils.randomSecretKey();
const serverPublic = p256.getPublicKey(serverPrivate, false);
const tlsDecisions: DecisionEvent[] = [];
/** What the server logs for every framed envelope: one JSON line each. */
const messageLog: string[] = [];
const received: AcceptedMessage[] = [];

interface ProvisionedBoard {
  slot: FixtureSlot;
  deviceId: string;
  modemStateFile: string;
  flashImage: string;
  /** The blob's MCU private key: read here only to prove it never crosses the bus. */
  mcuPrivateKey: Uint8Array;
  mcuPublicKey: Uint8Array;
  /** The modem's TLS private scalar, from the module's own key file. */
  modemPrivateKey: Uint8Array;
  modemKeyPem: string;
}
const provisioned: ProvisionedBoard[] = [];
const boards: FieldBoard[] = [];
const firmwares: McuFirmware[] = [];
const attackers: BusAttacker[] = [];

const messages = (): MessageDecision[] => messageLog.map((l) => JSON.parse(l) as MessageDecision);

function reading(board: string, seq: number): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ board, seq, t: 21.5 + seq, rh: 40 + seq, secret: `plain-${board}-${seq}` }),
  );
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

async function fieldBoard(
  name: string,
  modemStateFile: string,
  flashImage: string,
  imei: string,
  iccid: string,
) {
  const b = await startFieldBoard({
    dir: join(dir, 'field'),
    name,
    modem: { model: 'EC25', imei, iccid, stateFile: modemStateFile },
    flashImage,
    credentialAddress: CREDENTIAL_ADDRESS,
    latencyScale: 0.2,
    log: process.env.KEYLINE_FIELD_LOG
      ? (source, line) =>
          console.error(`${new Date().toISOString().slice(17, 23)} [${name} ${source}] ${line}`)
      : undefined,
  });
  boards.push(b);
  return b;
}

async function boot(b: FieldBoard): Promise<McuFirmware> {
  const fw = await b.bootFirmware();
  firmwares.push(fw);
  await fw.connect(HOST, server.port);
  return fw;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-field-'));
  mkdirSync(join(dir, 'field'));
  const serverTls = await ephemeralServerCertificate();
  const stationDir = await makeStation(dir);
  // The modem trusts the reference server's certificate; blobs carry our end-to-end key.
  const profile = await writeProfile(dir, 'field', (p) => {
    p.modem.serverCa = { kind: 'inline', pem: serverTls.cert };
    p.endToEnd.serverPublicKeyHex = Buffer.from(serverPublic).toString('hex');
  });
  const fixtureDir = join(dir, 'fixture');
  const fixture = await startFixture({
    slots: 2,
    dir: fixtureDir,
    seed: 11,
    latencyScale: 0.2,
    modemModel: 'EC25',
    mcuFamily: 'F4',
  });
  const station = await unlockStation(stationDir, PASSPHRASE);
  try {
    const line = await openProvisioningLine({ station, profile, batch: 'field-1' });
    try {
      const result = await line.runner.run(
        fixture.slots.map((s) => ({
          slot: String(s.slot),
          modemPort: s.modemPort,
          mcuPort: s.mcuPort,
        })),
        AbortSignal.timeout(240_000),
      );
      assert.deepEqual(
        result.failed.map((f) => `${f.slot}: ${f.step} ${f.reason}`),
        [],
      );
      await exportLedger(line.ledger, {
        outDir: join(dir, 'export'),
        issuer: station.issuer,
        caChainDer: station.caChainDer,
      });
    } finally {
      await line.close();
    }
    for (const s of fixture.slots) {
      const blob = decodeCredentialBlob(s.mcu.readFlash(CREDENTIAL_ADDRESS, 4096));
      const keyPem = Buffer.from(s.modem.files('UFS').get('klck1.pem') ?? []).toString('latin1');
      provisioned.push({
        slot: s,
        deviceId: blob.deviceId,
        modemStateFile: s.modemStateFile,
        flashImage: s.mcuStateFile,
        mcuPrivateKey: blob.mcuPrivateKey,
        mcuPublicKey: p256.getPublicKey(blob.mcuPrivateKey, false),
        modemPrivateKey: decodePkcs8(pemDecodeAll(keyPem)[0].der).secret,
        modemKeyPem: keyPem,
      });
    }
  } finally {
    station.close();
    // The factory is done: the boards leave the fixture (state files stay in fixtureDir).
    await fixture.stop();
  }

  store = new SqliteDeviceStore(':memory:');
  assert.equal(importExport(store, join(dir, 'export')).devicesAdded, 2);
  server = await createDeviceServer({
    store,
    tls: serverTls,
    port: 0,
    host: HOST,
    onDecision: (d) => {
      if (process.env.KEYLINE_FIELD_LOG) console.error(JSON.stringify(d));
      tlsDecisions.push(d);
    },
    endToEnd: {
      key: { privateKey: serverPrivate, publicKey: serverPublic },
      onDecision: (d) => messageLog.push(JSON.stringify(d)),
      onMessage: (m) => received.push(m),
    },
  });
});

after(async () => {
  for (const a of attackers) await a.detach().catch(() => {});
  for (const f of firmwares) await f.reset().catch(() => {});
  for (const b of boards) await b.stop().catch(() => {});
  await server?.close();
  store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let boardA: FieldBoard;
let boardB: FieldBoard;
let sentA: { envelope: Uint8Array; plaintext: Uint8Array }[] = [];

test('real readings travel sealed over the modem TLS session; the tap sees no secret', async () => {
  const [a, b] = provisioned;
  boardA = await fieldBoard('a', a.modemStateFile, a.flashImage, a.slot.imei, a.slot.iccid);
  boardB = await fieldBoard('b', b.modemStateFile, b.flashImage, b.slot.imei, b.slot.iccid);
  const fwA = await boot(boardA);
  const fwB = await boot(boardB);
  assert.equal(fwA.deviceId, a.deviceId);

  sentA = [];
  for (let i = 1; i <= 3; i++) {
    const plaintext = reading('a', i);
    const r = await fwA.sendReading(plaintext);
    assert.deepEqual(r.answer, { status: 'ok', counter: BigInt(i) });
    sentA.push({ envelope: r.envelope, plaintext });
  }
  const rB = await fwB.sendReading(reading('b', 1));
  assert.deepEqual(rB.answer, { status: 'ok', counter: 1n });

  // The server opened exactly these plaintexts, each under the right ledger record.
  assert.deepEqual(
    received.map((m) => [m.device.deviceId, Buffer.from(m.plaintext).toString()]),
    [
      ...sentA.map((s) => [a.deviceId, Buffer.from(s.plaintext).toString()]),
      [b.deviceId, Buffer.from(reading('b', 1)).toString()],
    ],
  );
  assert.ok(messages().every((m) => m.accepted && m.reason === 'accepted'));
  assert.deepEqual(
    tlsDecisions.map((d) => [d.accepted, d.reason]),
    [
      [true, 'committed'],
      [true, 'committed'],
    ],
    'both modems got in with the identity the station wrote',
  );

  // The wire: the tap recorded the envelopes the firmware sent (so it records the traffic) …
  const wireA = boardA.tap.capture();
  assert.deepEqual(
    envelopesOnWire(wireA.mcuToModem).map((e) => Buffer.from(e).toString('hex')),
    sentA.map((s) => Buffer.from(s.envelope).toString('hex')),
  );
  assert.ok(contains(wireA.mcuToModem, new TextEncoder().encode('AT+QSSLOPEN=1,1,0,')));
  assert.ok(contains(wireA.modemToMcu, new TextEncoder().encode('+QSSLOPEN: 0,0')));
  assert.ok(contains(wireA.modemToMcu, new TextEncoder().encode('ok 3\n')));
  // … and nothing else of value.
  const k = deriveEnvelopeKey(a.mcuPrivateKey, serverPublic, a.mcuPublicKey, serverPublic);
  const modemKeyBody = a.modemKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
  for (const [dirName, bytes] of Object.entries(wireA)) {
    for (const s of sentA)
      assert.ok(!contains(bytes, s.plaintext), `${dirName}: plaintext reading on the wire`);
    assert.ok(!contains(bytes, new TextEncoder().encode('plain-a')), `${dirName}: reading text`);
    assert.ok(!contains(bytes, a.mcuPrivateKey), `${dirName}: MCU private key on the wire`);
    assert.ok(!contains(bytes, k), `${dirName}: envelope key K on the wire`);
    assert.ok(!contains(bytes, a.modemPrivateKey), `${dirName}: modem private key on the wire`);
    for (const l of modemKeyBody)
      assert.ok(!contains(bytes, Buffer.from(l)), `${dirName}: modem key PEM on the wire`);
    assert.ok(!contains(bytes, Buffer.from('PRIVATE KEY')), `${dirName}: a key file on the wire`);
  }
  k.fill(0);
});

test('AT commands injected on the bus are refused by the server, each with its own reason', async () => {
  const [a, b] = provisioned;
  // The attacker holds board A's MCU in reset and drives the modem's UART itself; the
  // modem's TLS session (conn 0, A's modem identity) stays open.
  const fwA = firmwares[0];
  await fwA.reset();
  const attacker = await BusAttacker.attach(boardA.tap.mcuPort);
  attackers.push(attacker);
  const before = received.length;
  const logBefore = messageLog.length;

  const recorded = envelopesOnWire(boardA.tap.capture().mcuToModem);
  const withCounter = (env: Uint8Array, counter: bigint) => {
    const e = Uint8Array.from(env);
    new DataView(e.buffer).setBigUint64(12, counter);
    return e;
  };
  const flipped = Uint8Array.from(recorded[2]);
  flipped[22] ^= 0x01;
  const fromB = envelopesOnWire(boardB.tap.capture().mcuToModem)[0];
  const stranger = p256.utils.randomSecretKey();
  const cases: [string, Uint8Array, string][] = [
    ['replayed envelope', recorded[0], 'replay'],
    ['forged counter', withCounter(recorded[2], 1000n), 'bad-tag'],
    ['altered ciphertext', withCounter(flipped, 1001n), 'bad-tag'],
    [
      'sealed with board B key',
      sealForServer({
        mcuPrivateKey: b.mcuPrivateKey,
        mcuPublicKey: b.mcuPublicKey,
        serverPublicKey: serverPublic,
        counter: 1000n,
        plaintext: new TextEncoder().encode('{"t":-40}'),
      }),
      'device-mismatch',
    ],
    ['moved from board B session', fromB, 'device-mismatch'],
    [
      'sealed with an unknown key',
      sealForServer({
        mcuPrivateKey: stranger,
        mcuPublicKey: p256.getPublicKey(stranger, false),
        serverPublicKey: serverPublic,
        counter: 1n,
        plaintext: new TextEncoder().encode('{"t":99}'),
      }),
      'unknown-key',
    ],
    ['garbage', Uint8Array.from(randomBytes(48), (x, i) => (i === 0 ? 0 : x)), 'malformed'],
  ];
  for (const [what, envelope, reason] of cases) {
    const answer = await attacker.inject(0, envelope);
    assert.deepEqual(answer, { status: 'rejected', reason }, what);
  }
  assert.equal(received.length, before, 'nothing injected was accepted');
  const logged = messages().slice(logBefore);
  assert.deepEqual(
    logged.map((m) => [m.accepted, m.reason, m.tlsDeviceId]),
    cases.map(([, , reason]) => [false, reason, a.deviceId]),
    'one JSON decision line per injected frame, with its reason',
  );
  assert.equal(logged[3].keyDeviceId, b.deviceId);
  // The injections really went over the tapped wire, as the firmware's frames do.
  const onWire = envelopesOnWire(boardA.tap.capture().mcuToModem).map((e) =>
    Buffer.from(e).toString('hex'),
  );
  for (const [what, envelope] of cases)
    assert.ok(onWire.includes(Buffer.from(envelope).toString('hex')), `${what} on the wire`);
  await attacker.detach();

  // The MCU comes out of reset, reconnects, and its next real reading still goes through.
  const fw = await boot(boardA);
  const r = await fw.sendReading(reading('a', 4));
  assert.deepEqual(r.answer, { status: 'ok', counter: 4n });
  assert.equal(
    Buffer.from(received.at(-1)!.plaintext).toString(),
    Buffer.from(reading('a', 4)).toString(),
  );
});

test('a cloned modem on a board with another MCU gets in over TLS but carries nothing accepted', async () => {
  const [a, b] = provisioned;
  // Board C: board A's modem files and TLS context copied into another module; board B's MCU.
  const cloneState = join(dir, 'field', 'clone-modem.json');
  copyFileSync(a.modemStateFile, cloneState);
  const cloneFlash = join(dir, 'field', 'clone-mcu.bin');
  copyFileSync(b.flashImage, cloneFlash);
  copyFileSync(metaPathFor(b.flashImage), metaPathFor(cloneFlash));
  const boardC = await fieldBoard('c', cloneState, cloneFlash, '860000000000009', a.slot.iccid);
  const tlsBefore = tlsDecisions.length;
  const fwC = await boot(boardC);
  const accepted = received.length;
  for (let i = 1; i <= 2; i++) {
    const r = await fwC.sendReading(reading('c', i));
    assert.deepEqual(r.answer, { status: 'rejected', reason: 'device-mismatch' });
  }
  assert.equal(received.length, accepted, 'nothing from the clone was accepted');
  const tls = tlsDecisions.slice(tlsBefore);
  assert.equal(tls.length, 1);
  assert.equal(tls[0].accepted, true, "the clone's handshake succeeds with A's modem identity");
  const last = messages().slice(-2);
  for (const m of last) {
    assert.equal(m.tlsDeviceId, a.deviceId);
    assert.equal(m.keyDeviceId, b.deviceId);
    assert.equal(m.reason, 'device-mismatch');
  }
  // Even board A's own envelopes, recorded off A's bus, are worthless through the clone.
  await fwC.reset();
  const attacker = await BusAttacker.attach(boardC.tap.mcuPort);
  attackers.push(attacker);
  for (const e of envelopesOnWire(boardA.tap.capture().mcuToModem).slice(0, 3))
    assert.deepEqual(await attacker.inject(0, e), { status: 'rejected', reason: 'replay' });
  assert.equal(received.length, accepted);
});
