import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportLedger } from '../../main/ledger/index.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { importExport, SqliteDeviceStore } from '../../server/index.ts';
import { useStationRig, writeProfile } from './helpers.ts';

// Slot 1 is a hardened module (newer firmware), slots 2 and 3 exposed ones (ADB salt,
// Linux command, readable UFS files) — the audit must tell them apart on the line.
const rig = useStationRig('kl-pipe-audit-', {
  slots: 3,
  seed: 77,
  latencyScale: 0.2,
  modemPersonality: (slot) => (slot === 1 ? 'hardened' : 'exposed'),
});
const { slotCfg } = rig;

test('default policy: a hardened module passes clean, an exposed one fails naming the finding and nothing is committed', async () => {
  const profile = await writeProfile(rig.dir, 'audit-default');
  const line = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'audit-default',
  });
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
    const attempts = line.ledger.findByHardwareId({ imei: rig.fixture.slots[1].imei });
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
    assert.ok(rig.fixture.slots[0].mcu.readFlash(CREDENTIAL_AREA, 16).some((b) => b !== 0xff));
    assert.ok(rig.fixture.slots[1].mcu.readFlash(CREDENTIAL_AREA, 16).every((b) => b === 0xff));
  } finally {
    await line.close();
  }
});

test('warn policy: the exposed module commits with its findings, which the export and the server carry', async () => {
  const profile = await writeProfile(rig.dir, 'audit-warn', (p) => {
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
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'audit-warn' });
  let deviceId: string;
  const exportDir = join(rig.dir, 'export-warn');
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
      issuer: rig.station.issuer,
      caChainDer: rig.station.caChainDer,
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
