import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AbortRecord } from '../../ledger/records.ts';
import type { PipelineEvent } from '../../main/pipeline/events.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { useStationRig, writeProfile } from './helpers.ts';

const rig = useStationRig('kl-pipe-paths-', {
  slots: 5,
  seed: 41,
  latencyScale: 0.2,
  modemModel: (slot) => (slot === 4 ? 'M66' : 'EC25'),
  mcuFamily: (slot) => (slot === 5 ? 'L4' : 'F4'),
});
const { slotCfg } = rig;
test('read-out protection: set after the verified write, before the commit', async () => {
  const profile = await writeProfile(rig.dir, 'rdp', (p) => {
    p.mcu.readoutProtection = true;
  });
  const states: string[] = [];
  const line = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'rdp',
    onEvent: (e) => {
      if (e.type === 'state') states.push(e.to);
    },
  });
  try {
    const r = await line.runner.run([slotCfg(1)], AbortSignal.timeout(60_000));
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
  } finally {
    await line.close();
  }
  assert.equal(rig.fixture.slots[0].mcu.rdpLevel, 1);
  const i = states.indexOf('readout-protect');
  assert.ok(i > states.indexOf('mcu-write') && i < states.indexOf('commit'), states.join(' '));
});

test('an MCU of another family than the profile names is refused at identify', async () => {
  const profile = await writeProfile(rig.dir, 'plain');
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'family' });
  try {
    const r = await line.runner.run([slotCfg(5)], AbortSignal.timeout(60_000));
    assert.equal(r.failed[0]?.step, 'identify');
    assert.equal(r.failed[0].code, 'wrong-mcu');
    assert.match(r.failed[0].reason, /MCU is STM32L4, profile .* expects STM32F4/);
    assert.equal(line.ledger.findByBatch('family').length, 0, 'no intent');
  } finally {
    await line.close();
  }
});

test('cancelling a batch mid-write aborts each slot cleanly and revokes its serials', async () => {
  const profile = await writeProfile(rig.dir, 'plain2');
  const ac = new AbortController();
  const events: PipelineEvent[] = [];
  const line = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'cancel',
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'state' && e.to === 'modem-write' && e.slot === '3')
        ac.abort(new Error('operator pressed stop'));
    },
  });
  try {
    const r = await line.runner.run([slotCfg(2), slotCfg(3)], ac.signal);
    assert.equal(r.passed.length, 0);
    for (const f of r.failed) {
      assert.equal(f.code, 'cancelled', JSON.stringify(f));
      assert.match(f.reason, /operator pressed stop/);
      if (f.abortIndex !== undefined) {
        const a = line.ledger.record(f.abortIndex) as AbortRecord;
        assert.equal(a.type, 'abort');
        assert.deepEqual(a.revokeSerialsHex, f.revokedSerials);
      }
    }
    assert.deepEqual(line.ledger.openIntents(), [], 'every intent closed');
    assert.ok(r.failed.some((f) => f.abortIndex !== undefined));
  } finally {
    await line.close();
  }
  // The cancelled boards provision normally afterwards.
  const again = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'after-cancel',
  });
  try {
    const r = await again.runner.run([slotCfg(2), slotCfg(3)], AbortSignal.timeout(60_000));
    assert.equal(r.passed.length, 2, JSON.stringify(r.failed));
  } finally {
    await again.close();
  }
});

test('a 2G module (M66): credentials go to NVRAM secure storage; a profile for LTE refuses it', async () => {
  const lteOnly = await writeProfile(rig.dir, 'lte-only', (p) => {
    p.modem.family = 'lte';
  });
  const refused = await openProvisioningLine({
    station: rig.station,
    profile: lteOnly,
    batch: 'lte-only',
  });
  try {
    const r = await refused.runner.run([slotCfg(4)], AbortSignal.timeout(60_000));
    assert.equal(r.failed[0]?.code, 'wrong-model');
    assert.match(r.failed[0].reason, /M66 is of the 2g family, .* expects lte/);
  } finally {
    await refused.close();
  }
  const profile = await writeProfile(rig.dir, 'any-modem');
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'm66' });
  try {
    const r = await line.runner.run([slotCfg(4)], AbortSignal.timeout(90_000));
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    assert.equal(r.passed[0].identity.modemModel, 'M66');
  } finally {
    await line.close();
  }
  const nvram = rig.fixture.slots[3].modem.files('NVRAM');
  assert.equal(nvram.size, 3, [...nvram.keys()].join(', '));
  assert.equal(rig.fixture.slots[3].modem.files('UFS').size, 0);
});

test('a cancel that arrives once the commit is written leaves the board passed', async () => {
  const profile = await writeProfile(rig.dir, 'late-cancel');
  const ac = new AbortController();
  const line = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'late-cancel',
    reprovision: true,
    onEvent: (e) => {
      if (e.type === 'state' && e.to === 'commit') ac.abort(new Error('stop pressed late'));
    },
  });
  try {
    const r = await line.runner.run([slotCfg(2)], ac.signal);
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    const commit = line.ledger.record(r.passed[0].commitIndex);
    assert.equal(commit.type, 'commit');
    assert.deepEqual(line.ledger.openIntents(), []);
  } finally {
    await line.close();
  }
});

test('a batch naming one slot twice is refused before anything runs', async () => {
  const { SlotSpecError } = await import('../../main/pipeline/slot-spec.ts');
  const profile = await writeProfile(rig.dir, 'dupe-slots');
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'dupe-slots' });
  try {
    const size = line.ledger.size;
    await assert.rejects(
      line.runner.run([slotCfg(2), slotCfg(2)], AbortSignal.timeout(10_000)),
      (e: unknown) => e instanceof SlotSpecError && /slot names must be unique/.test(e.message),
    );
    assert.equal(line.ledger.size, size, 'nothing written');
  } finally {
    await line.close();
  }
});

test('the audit hook runs after the modem write with the driver session, and its findings are committed', async () => {
  const profile = await writeProfile(rig.dir, 'audit-record', (p) => {
    p.audit = { enabled: true };
  });
  let sawFiles = 0;
  const line = await openProvisioningLine({
    station: rig.station,
    profile,
    batch: 'audit-hook',
    reprovision: true,
    audit: async ({ modem }) => {
      const write = modem.driver?.lastWrite();
      assert.ok(write, 'the modem write report is there');
      sawFiles = write.files.length;
      assert.ok(modem.driver?.engine, 'the AT engine is there');
      return {
        findings: [{ id: 'hook-test', severity: 'info', summary: `${write.files.length} files` }],
        modemKeyReadable: false,
      };
    },
  });
  try {
    const r = await line.runner.run([slotCfg(3)], AbortSignal.timeout(60_000));
    assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    const commit = line.ledger.record(r.passed[0].commitIndex);
    assert.equal(commit.type, 'commit');
    if (commit.type === 'commit') {
      assert.deepEqual(commit.findings, [
        { id: 'hook-test', severity: 'info', summary: '3 files' },
      ]);
      assert.equal(commit.modemKeyReadable, false);
    }
    assert.equal(sawFiles, 3);
  } finally {
    await line.close();
  }
});
