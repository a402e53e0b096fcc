import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportLedger } from '../../main/ledger/index.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { unlockStation, type LineStation } from '../../main/pipeline/station.ts';
import { importExport, SqliteDeviceStore } from '../../server/index.ts';
import { startFixture } from '../../sim/index.ts';
import { PASSPHRASE, makeStation, writeProfile } from './helpers.ts';

// Slot 1 is a hardened module (newer firmware), slots 2 and 3 exposed ones (ADB salt,
// Linux command, readable UFS files) — the audit must tell them apart on the line.
let dir: string;
let station: LineStation;
let fixture: Awaited<ReturnType<typeof startFixture>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-audit-'));
  station = await unlockStation(await makeStation(dir), PASSPHRASE);
  fixture = await startFixture({
    slots: 3,
    dir: join(dir, 'fixture'),
    seed: 77,
    latencyScale: 0.2,
    modemPersonality: (slot) => (slot === 1 ? 'hardened' : 'exposed'),
  });
});

after(async () => {
  station?.close();
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

const slotCfg = (n: number) => {
  const s = fixture.slots[n - 1];
  return { slot: String(s.slot), modemPort: s.modemPort, mcuPort: s.mcuPort };
};

test('default policy: a hardened module passes clean, an exposed one fails naming the finding and nothing is committed', async () => {
  const profile = await writeProfile(dir, 'audit-default');
  const line = await openProvisioningLine({ station, profile, batch: 'audit-default' });
  try {
    const r = await line.runner.run([slotCfg(1), slotCfg(2)], AbortSignal.timeout(120_000));
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    assert.equal(r.passed[0].slot, '1');
    const commit = line.ledger.record(r.passed[0].commitIndex);
    assert.equal(commit.type, 'commit');
    if (commit.type === 'commit') {
      assert.deepEqual(commit.findings ?? [], [], 'a hardened module has no findings');
      assert.equal(commit.modemKeyReadable, false);
    }

    assert.equal(r.failed.length, 1);
    const f = r.failed[0];
    assert.equal(f.slot, '2');
    assert.equal(f.step, 'audit');
    assert.match(f.reason, /adb-unlock/);
    assert.match(f.reason, /backdoor-command/);
    assert.equal(f.revokedSerials.length, 2, 'both issued serials go on the CRL');
    const attempts = line.ledger.findByHardwareId({ imei: fixture.slots[1].imei });
    assert.ok(attempts.length > 0);
    assert.ok(
      attempts.some((a) => a.attempt.status === 'aborted'),
      'the intent was closed by an abort',
    );
    assert.ok(
      attempts.every((a) => a.attempt.status !== 'committed'),
      'nothing committed for the exposed board',
    );
    // The audit runs before the MCU step: the passing board's credential page holds a blob,
    // the failing board's is still erased.
    const CREDENTIAL_AREA = 0x080e0000; // profiles/demo.json mcu.credentialArea
    assert.ok(fixture.slots[0].mcu.readFlash(CREDENTIAL_AREA, 16).some((b) => b !== 0xff));
    assert.ok(fixture.slots[1].mcu.readFlash(CREDENTIAL_AREA, 16).every((b) => b === 0xff));
  } finally {
    await line.close();
  }
});

test('warn policy: the exposed module commits with its findings, which the export and the server carry', async () => {
  const profile = await writeProfile(dir, 'audit-warn', (p) => {
    p.audit = {
      enabled: true,
      actions: {
        firmware: 'fail',
        'backdoor-command': 'warn',
        'adb-unlock': 'warn',
        'adb-enabled': 'record',
        'key-readable': 'warn',
        'tls-context': 'fail',
      },
    };
  });
  const line = await openProvisioningLine({ station, profile, batch: 'audit-warn' });
  let deviceId: string;
  const exportDir = join(dir, 'export-warn');
  try {
    const r = await line.runner.run([slotCfg(3)], AbortSignal.timeout(120_000));
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    const commit = line.ledger.record(r.passed[0].commitIndex);
    assert.equal(commit.type, 'commit');
    if (commit.type !== 'commit') return;
    deviceId = commit.deviceId;
    const ids = (commit.findings ?? []).map((x) => x.id).sort();
    assert.deepEqual(ids, ['adb-enabled', 'adb-unlock', 'backdoor-command', 'key-readable']);
    assert.equal(commit.modemKeyReadable, true);
    const serialized = JSON.stringify(commit);
    assert.ok(!serialized.includes('BEGIN EC PRIVATE'), 'no key bytes in the record');
    await exportLedger(line.ledger, {
      outDir: exportDir,
      issuer: station.issuer,
      caChainDer: station.caChainDer,
    });
  } finally {
    await line.close();
  }
  const store = new SqliteDeviceStore(':memory:');
  try {
    importExport(store, exportDir);
    const [device] = store.devicesById(deviceId);
    assert.ok(device, 'the server knows the device');
    assert.equal(device.modemKeyReadable, true);
    assert.deepEqual(device.findings.map((x) => x.id).sort(), [
      'adb-enabled',
      'adb-unlock',
      'backdoor-command',
      'key-readable',
    ]);
  } finally {
    store.close();
  }
});
