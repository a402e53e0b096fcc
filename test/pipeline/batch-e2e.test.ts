import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import {
  decodePkcs8,
  parseCertificate,
  parseSpki,
  pemDecodeAll,
  pemEncode,
} from '../../certs/index.ts';
import type { CommitRecord, LedgerRecord } from '../../ledger/records.ts';
import { exportLedger } from '../../main/ledger/export.ts';
import { decodeCredentialBlob } from '../../main/mcu/index.ts';
import type { PipelineEvent } from '../../main/pipeline/events.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { unlockStation, type LineStation } from '../../main/pipeline/station.ts';
import {
  SqliteDeviceStore,
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  readExport,
  type DecisionEvent,
  type DeviceServer,
  type TlsServerCredentials,
} from '../../server/index.ts';
import { startFixture } from '../../sim/index.ts';
import { PASSPHRASE, makeStation, writeProfile } from './helpers.ts';

const SLOTS = 8;
const CREDENTIAL_ADDRESS = 0x080e0000;

let dir: string;
let stationDir: string;
let profilePath: string;
let station: LineStation;
let fixture: Awaited<ReturnType<typeof startFixture>>;
let store: SqliteDeviceStore;
let server: DeviceServer;
let serverTls: TlsServerCredentials;
const decisions: DecisionEvent[] = [];
/** Slot 1's modem credentials as the module held them after the first batch. */
let firstCredentials: { cert: string; key: string };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-e2e-'));
  stationDir = await makeStation(dir);
  profilePath = await writeProfile(dir, 'e2e');
  fixture = await startFixture({
    slots: SLOTS,
    dir: join(dir, 'fixture'),
    seed: 7,
    latencyScale: 0.2,
    modemModel: 'EC25',
    mcuFamily: 'F4',
  });
  station = await unlockStation(stationDir, PASSPHRASE);
});

after(async () => {
  await server?.close();
  store?.close();
  station?.close();
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

function slotsOf(f: typeof fixture) {
  return f.slots.map((s) => ({ slot: String(s.slot), modemPort: s.modemPort, mcuPort: s.mcuPort }));
}

/** The module's own files as a device would use them: its TLS client cert and key. */
function modemCredentials(s: (typeof fixture.slots)[number]): { cert: string; key: string } {
  const files = s.modem.files('UFS');
  const get = (n: string) => Buffer.from(files.get(n) ?? new Uint8Array()).toString('latin1');
  return { cert: get('klcc1.pem'), key: get('klck1.pem') };
}

/** A real TLS handshake against the reference server; resolves with what it sent back. */
function handshake(creds: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({
      host: '127.0.0.1',
      port: server.port,
      cert: creds.cert,
      key: creds.key,
      ca: serverTls.cert,
      checkServerIdentity: () => undefined,
    });
    let data = '';
    const timer = setTimeout(() => sock.destroy(new Error('handshake timeout')), 20_000);
    sock.on('data', (d: Buffer) => (data += d.toString()));
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (data === '') resolve('');
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

function records(ledger: { size: number; record(i: number): LedgerRecord }): LedgerRecord[] {
  return Array.from({ length: ledger.size }, (_, i) => ledger.record(i));
}

test(`${SLOTS} slots provisioned at once: modem files, TLS context, MCU flash and ledger agree`, async () => {
  const events: PipelineEvent[] = [];
  const line = await openProvisioningLine({
    station,
    profile: profilePath,
    batch: 'e2e-1',
    operator: 'tester',
    onEvent: (e) => events.push(e),
  });
  let all: LedgerRecord[];
  try {
    const result = await line.runner.run(slotsOf(fixture), AbortSignal.timeout(240_000));
    assert.deepEqual(
      result.failed.map((f) => `${f.slot}: ${f.step} ${f.reason}`),
      [],
      'no slot failed',
    );
    assert.equal(result.passed.length, SLOTS);
    all = records(line.ledger);
    await exportLedger(line.ledger, {
      outDir: join(dir, 'export-1'),
      issuer: station.issuer,
      caChainDer: station.caChainDer,
    });
  } finally {
    await line.close();
  }

  const commits = all.filter((r): r is CommitRecord => r.type === 'commit');
  assert.equal(commits.length, SLOTS, 'one commit per board');
  assert.equal(all.filter((r) => r.type === 'intent').length, SLOTS, 'one intent per board');
  assert.equal(all.filter((r) => r.type === 'abort').length, 0);

  for (const s of fixture.slots) {
    const commit = commits.find((c) => c.slot === String(s.slot));
    assert.ok(commit, `slot ${s.slot} committed`);
    assert.deepEqual(commit.hardwareIds, { imei: s.imei, iccid: s.iccid, mcuUid: s.mcuUid });

    // Modem: the three files hold exactly the issued PEMs and the context points at them.
    const modemCertDer = new Uint8Array(Buffer.from(commit.certificates.modem.derB64, 'base64'));
    const files = s.modem.files('UFS');
    const text = (name: string) => {
      const b = files.get(name);
      assert.ok(b, `slot ${s.slot}: modem holds ${name} (has ${[...files.keys()].join(', ')})`);
      return Buffer.from(b).toString('latin1');
    };
    assert.equal(text('klca1.pem'), station.rootCertificatePem, 'server CA bytes');
    assert.equal(text('klcc1.pem'), pemEncode('CERTIFICATE', modemCertDer), 'client cert bytes');
    const keyBlocks = pemDecodeAll(text('klck1.pem'));
    assert.equal(keyBlocks[0]?.label, 'PRIVATE KEY');
    const modemKey = decodePkcs8(keyBlocks[0].der);
    const modemCert = parseCertificate(modemCertDer);
    assert.deepEqual(modemKey.publicKey, parseSpki(modemCert.spkiDer).raw, 'key matches cert');
    assert.equal(modemCert.commonName, commit.deviceId);
    const ssl = s.modem.sslConfig(1);
    assert.equal(ssl.seclevel, '2');
    assert.equal(ssl.cacert, 'UFS:klca1.pem');
    assert.equal(ssl.clientcert, 'UFS:klcc1.pem');
    assert.equal(ssl.clientkey, 'UFS:klck1.pem');

    // MCU: the flash holds a blob that decodes to the ledger's record.
    const blob = decodeCredentialBlob(s.mcu.readFlash(CREDENTIAL_ADDRESS, 4096));
    assert.equal(blob.deviceId, commit.deviceId);
    assert.equal(blob.mcuUid, s.mcuUid);
    assert.equal(
      Buffer.from(blob.mcuCertificateDer).toString('base64'),
      commit.certificates.mcu.derB64,
    );
    assert.equal(
      Buffer.from(blob.modemCertSha256).toString('hex'),
      commit.certificates.modem.sha256Hex,
    );
    const mcuCert = parseCertificate(blob.mcuCertificateDer);
    const { p256 } = await import('@noble/curves/nist.js');
    assert.deepEqual(
      p256.getPublicKey(blob.mcuPrivateKey, false),
      parseSpki(mcuCert.spkiDer).raw,
      'the blob key is the MCU certificate key',
    );
  }

  // The export verifies (signatures, Merkle root, chains).
  const v = readExport(join(dir, 'export-1'));
  assert.equal(v.counts.commit, SLOTS);
  assert.equal(v.crl.serialsHex.length, 0);

  // The reference server imports it and lets each device in with the credentials its
  // modem now holds (a real mutual-TLS handshake).
  store = new SqliteDeviceStore(':memory:');
  assert.equal(importExport(store, join(dir, 'export-1')).devicesAdded, SLOTS);
  serverTls = await ephemeralServerCertificate();
  server = await createDeviceServer({
    store,
    tls: serverTls,
    port: 0,
    host: '127.0.0.1',
    onDecision: (d) => decisions.push(d),
  });
  for (const s of fixture.slots) {
    const answer = JSON.parse((await handshake(modemCredentials(s))).trim()) as {
      accepted: boolean;
      deviceId: string;
    };
    const commit = commits.find((c) => c.slot === String(s.slot))!;
    assert.equal(answer.accepted, true, `slot ${s.slot} accepted`);
    assert.equal(answer.deviceId, commit.deviceId);
    assert.equal(decisions.at(-1)?.reason, 'committed');
  }
  firstCredentials = modemCredentials(fixture.slots[0]);

  // Progress events are typed, monotonic per slot and end at 100 %.
  for (const s of fixture.slots) {
    const p = events.filter(
      (e): e is Extract<PipelineEvent, { type: 'progress' }> =>
        e.type === 'progress' && e.slot === String(s.slot),
    );
    for (let i = 1; i < p.length; i++)
      assert.ok(p[i].totalPercent >= p[i - 1].totalPercent, `slot ${s.slot} progress monotonic`);
    assert.equal(p.at(-1)?.totalPercent, 100);
    assert.ok(
      p.some((e) => e.step === 'modem-write' && (e.bytes ?? 0) > 0),
      'modem bytes reported',
    );
  }
});

test('the same boards again are refused as duplicates, without any new intent', async () => {
  const line = await openProvisioningLine({ station, profile: profilePath, batch: 'e2e-2' });
  try {
    const before = line.ledger.size;
    const result = await line.runner.run(
      slotsOf(fixture).slice(0, 3),
      AbortSignal.timeout(120_000),
    );
    assert.equal(result.passed.length, 0);
    assert.equal(result.failed.length, 3);
    for (const f of result.failed) {
      assert.equal(f.step, 'duplicate-check');
      assert.equal(f.code, 'duplicate');
      assert.match(f.reason, /already provisioned as kl1-/);
      assert.deepEqual(f.revokedSerials, []);
    }
    assert.equal(line.ledger.size, before, 'nothing was written');
  } finally {
    await line.close();
  }
});

test('an explicit re-provision revokes the old certificates and commits new ones', async () => {
  const line = await openProvisioningLine({
    station,
    profile: profilePath,
    batch: 'e2e-3',
    reprovision: true,
  });
  let revoked: string[];
  try {
    const s = fixture.slots[0];
    const old = line.ledger
      .findByHardwareId({ imei: s.imei })
      .map((m) => m.attempt)
      .find((a) => a.status === 'committed');
    assert.ok(old?.commitIndex !== undefined);
    const oldCommit = line.ledger.record(old.commitIndex) as CommitRecord;
    revoked = [oldCommit.certificates.modem.serialHex, oldCommit.certificates.mcu.serialHex];
    const result = await line.runner.run(
      slotsOf(fixture).slice(0, 1),
      AbortSignal.timeout(120_000),
    );
    assert.equal(result.passed.length, 1, JSON.stringify(result.failed));
    const pass = result.passed[0];
    assert.ok(pass.revokeIndex !== undefined);
    const rev = line.ledger.record(pass.revokeIndex);
    assert.equal(rev.type, 'revoke');
    assert.deepEqual(rev.type === 'revoke' && rev.revokeSerialsHex, revoked);
    assert.notEqual(pass.modemSerialHex, revoked[0]);
    await exportLedger(line.ledger, {
      outDir: join(dir, 'export-3'),
      issuer: station.issuer,
      caChainDer: station.caChainDer,
    });
  } finally {
    await line.close();
  }
  const v = readExport(join(dir, 'export-3'));
  for (const serial of revoked) assert.ok(v.crl.serialsHex.includes(serial), `CRL lists ${serial}`);

  // After importing the new export the server refuses the old identity, accepts the new.
  importExport(store, join(dir, 'export-3'));
  assert.equal(await handshake(firstCredentials), '', 'old certificate refused');
  assert.equal(decisions.at(-1)?.reason, 'revoked');
  const fresh = JSON.parse((await handshake(modemCredentials(fixture.slots[0]))).trim()) as {
    accepted: boolean;
  };
  assert.equal(fresh.accepted, true);
});
