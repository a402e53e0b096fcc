import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listLayouts, loadLayout, saveLayout } from '../../main/app/layouts.ts';
import { applySlotEvent, queuedSlot } from '../../main/app/slot-model.ts';
import { computeThroughput, maxTimelinePoints } from '../../main/app/throughput.ts';
import type { SlotEvent } from '../../main/pipeline/events.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-ui-model-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const identity = {
  deviceId: 'kl1-abc',
  imei: '490154203237518',
  iccid: '8944500102198304826',
  mcuUid: '0123456789abcdef01234567',
  modemModel: 'EC25',
  modemFirmware: 'EC25EFAR06A06M4G',
  mcuFamily: 'F4',
};

test('slot events fold into tile state: steps advance, IDs appear, FAIL keeps step and device answer', () => {
  let s = queuedSlot(2, '/dev/m', '/dev/u');
  const ev = (e: SlotEvent) => (s = applySlotEvent(s, e, 1000));
  ev({ type: 'state', slot: '2', from: 'idle', to: 'identify', elapsedMs: 0 });
  assert.equal(s.phase, 'running');
  assert.equal(s.step, 'identify');
  ev({ type: 'identified', slot: '2', identity, elapsedMs: 5 });
  assert.equal(s.ids.imei, identity.imei);
  ev({
    type: 'progress',
    slot: '2',
    step: 'modem-write',
    stepPercent: 40,
    totalPercent: 30,
    elapsedMs: 9,
    message: 'uploading',
  });
  const byName = Object.fromEntries(s.steps.map((x) => [x.name, x]));
  assert.equal(byName['identify'].state, 'done');
  assert.equal(byName['issue'].percent, 100);
  assert.deepEqual(byName['modem-write'], { name: 'modem-write', percent: 40, state: 'running' });
  assert.equal(byName['mcu-write'].state, 'pending');
  ev({
    type: 'fail',
    slot: '2',
    elapsedMs: 12,
    failure: {
      slot: '2',
      step: 'modem-write',
      code: 'device-error',
      reason: 'AT+QFUPL failed',
      deviceAnswered: '+CME ERROR: 409',
      revokedSerials: [],
    },
  });
  assert.equal(s.phase, 'fail');
  assert.deepEqual(s.failure, {
    step: 'modem-write',
    code: 'device-error',
    message: 'AT+QFUPL failed',
    deviceAnswer: '+CME ERROR: 409',
  });
  assert.equal(s.steps.find((x) => x.name === 'modem-write')?.state, 'failed');
  assert.equal(s.finishedAt, 1000);
});

test('throughput: boards per hour, pass rate, failures by step, cumulative timeline', () => {
  const t0 = 1_000_000;
  const stats = computeThroughput(
    t0,
    [
      { finishedAt: t0 + 60_000, passed: true, step: null },
      { finishedAt: t0 + 30_000, passed: false, step: 'mcu-write' },
      { finishedAt: t0 + 90_000, passed: true, step: null },
      { finishedAt: t0 + 120_000, passed: false, step: 'mcu-write' },
    ],
    t0 + 120_000,
  );
  assert.equal(stats.passed, 2);
  assert.equal(stats.failed, 2);
  assert.equal(stats.passRate, 0.5);
  assert.equal(stats.boardsPerHour, 120); // 4 boards in 2 minutes
  assert.deepEqual(stats.failuresByStep, { 'mcu-write': 2 });
  assert.deepEqual(
    stats.timeline.map((p) => [p.t, p.passed, p.failed]),
    [
      [30, 0, 1],
      [60, 1, 1],
      [90, 2, 1],
      [120, 2, 2],
    ],
  );
  const many = Array.from({ length: 5000 }, (_, i) => ({
    finishedAt: t0 + i * 1000,
    passed: i % 10 !== 0,
    step: i % 10 === 0 ? 'identify' : null,
  }));
  const big = computeThroughput(t0, many, t0 + 5_000_000);
  assert.equal(big.timeline.length, maxTimelinePoints);
  assert.deepEqual(big.timeline.at(-1), { t: 4999, passed: 4500, failed: 500 });
  assert.equal(big.failuresByStep.identify, 500);
  const empty = computeThroughput(null, [], t0);
  assert.equal(empty.passRate, null);
  assert.equal(empty.boardsPerHour, 0);
});

test('fixture layouts are saved as JSON in the station directory and loaded back', async () => {
  const slots = [
    { slot: 1, modemPort: '/dev/ttyUSB0', mcuPort: '/dev/ttyUSB1' },
    { slot: 2, modemPort: '/dev/ttyUSB2', mcuPort: '/dev/ttyUSB3' },
  ];
  await saveLayout(dir, 'line-1', slots);
  const onDisk = JSON.parse(await readFile(join(dir, 'layouts', 'line-1.json'), 'utf8'));
  assert.deepEqual(onDisk.slots, slots);
  assert.deepEqual((await loadLayout(dir, 'line-1')).slots, slots);
  await writeFile(join(dir, 'layouts', 'broken.json'), '{"name":"broken","slots":[{"slot":"x"}]}');
  assert.deepEqual(
    (await listLayouts(dir)).map((l) => l.name),
    ['line-1'],
  );
  await assert.rejects(loadLayout(dir, 'broken'), { code: 'invalid-input' });
  await assert.rejects(loadLayout(dir, 'missing'), { code: 'not-found' });
  await assert.rejects(saveLayout(dir, '../escape', slots), { code: 'invalid-input' });
});
