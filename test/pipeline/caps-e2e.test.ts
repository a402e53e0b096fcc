import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { useStationRig, writeProfile } from './helpers.ts';

const rig = useStationRig('kl-pipe-caps-', {
  slots: 3,
  seed: 23,
  latencyScale: 0.1,
  modemModel: 'EC25',
  mcuFamily: 'F4',
});
const slots = () => rig.allSlots();
test('a batch capped at 2 issues 2 and refuses the third before any key exists', async () => {
  const profile = await writeProfile(rig.dir, 'cap2', (p) => {
    p.caps = { perBatch: 2, perHour: 100 };
  });
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'capped' });
  try {
    const r = await line.runner.run(slots(), AbortSignal.timeout(120_000));
    assert.equal(r.passed.length, 2, JSON.stringify(r.failed));
    assert.equal(r.failed.length, 1);
    const f = r.failed[0];
    assert.equal(f.step, 'intent');
    assert.equal(f.code, 'cap');
    assert.match(f.reason, /issuance cap reached: batch already issued 2 of 2/);
    assert.deepEqual(f.revokedSerials, []);
    assert.equal(line.ledger.findByBatch('capped').length, 2, 'only two intents were written');
    // Nothing was written to the refused board.
    const refused = rig.fixture.slots.find((s) => String(s.slot) === f.slot)!;
    assert.equal(refused.modem.files('UFS').size, 0);
    // The modem write starts only once the cap allows a board: the refused one saw no file
    // command at all (its wire ends with the identify).
    const sent = Buffer.from(refused.modem.received()).toString('latin1');
    assert.match(sent, /AT\+QCCID\r/);
    assert.doesNotMatch(sent, /AT\+QF/);
  } finally {
    await line.close();
  }
});

test('the per-hour cap counts the ledger across batches and station restarts', async () => {
  const profile = await writeProfile(rig.dir, 'hour2', (p) => {
    p.caps = { perBatch: 100, perHour: 2 };
  });
  const line = await openProvisioningLine({ station: rig.station, profile, batch: 'next-batch' });
  try {
    const refused = slots().filter(
      (s) =>
        line.ledger.findByHardwareId({ imei: rig.fixture.slots[Number(s.slot) - 1].imei })
          .length === 0,
    );
    assert.equal(refused.length, 1);
    const r = await line.runner.run(refused, AbortSignal.timeout(60_000));
    assert.equal(r.failed[0]?.code, 'cap');
    assert.match(r.failed[0].reason, /station issued 2 of 2 in the last hour/);
  } finally {
    await line.close();
  }
});
