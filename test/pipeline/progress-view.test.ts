import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent, SlotIdentity } from '../../main/pipeline/events.ts';
import { createProgressView, plainLine, viewModeFor } from '../../main/pipeline/progress-view.ts';

const identity: SlotIdentity = {
  deviceId: 'kl1-000000000000000000000001',
  imei: '356938035643809',
  iccid: '8944500102198304826',
  mcuUid: '0123456789abcdef01234567',
  modemModel: 'EC25',
  modemFirmware: 'EC25EFAR06A06M4G',
  mcuFamily: 'F4',
};

const events: PipelineEvent[] = [
  { type: 'batch-start', batch: 'b1', slots: ['1', '2'], profile: 'demo' },
  { type: 'state', slot: '1', from: 'idle', to: 'identify', elapsedMs: 0 },
  { type: 'identified', slot: '1', identity, elapsedMs: 10 },
  ...[10, 20, 30, 40, 50].map((p): PipelineEvent => ({
    type: 'progress',
    slot: '1',
    step: 'modem-write',
    stepPercent: p,
    totalPercent: 20 + p / 3,
    bytes: p * 10,
    bytesTotal: 1000,
    elapsedMs: 100 + p,
    message: 'upload:clientcert',
  })),
  {
    type: 'fail',
    slot: '2',
    failure: {
      slot: '2',
      step: 'modem-write',
      code: 'modem-command',
      reason: 'AT+QFUPL → +CME ERROR: 409',
      deviceAnswered: '+CME ERROR: 409',
      revokedSerials: ['01', '02'],
      abortIndex: 9,
    },
    elapsedMs: 900,
  },
  {
    type: 'pass',
    slot: '1',
    result: {
      slot: '1',
      identity,
      commitIndex: 12,
      intentIndex: 4,
      modemCertFingerprintSha256Hex: 'aa',
      mcuCertFingerprintSha256Hex: 'bb',
      modemSerialHex: '03',
      mcuSerialHex: '04',
      elapsedMs: 2500,
    },
  },
  { type: 'batch-end', batch: 'b1', passed: 1, failed: 1, elapsedMs: 2600 },
];

function capture() {
  let out = '';
  return {
    write: (s: string) => (out += s),
    columns: 120,
    get text() {
      return out;
    },
  };
}

test('view mode: JSON wins, then TTY, else plain', () => {
  assert.equal(viewModeFor(true, { isTTY: true }), 'json');
  assert.equal(viewModeFor(false, { isTTY: true }), 'tty');
  assert.equal(viewModeFor(false, {}), 'plain');
});

test('plain view: one line per step change and result, no progress ticks', () => {
  const w = capture();
  const v = createProgressView('plain', w);
  for (const e of events) v.onEvent(e);
  v.finish();
  const lines = w.text.trim().split('\n');
  assert.deepEqual(lines, [
    'batch b1: 2 slot(s), profile demo',
    'slot 1: identify',
    `slot 1: EC25 IMEI ${identity.imei} ICCID ${identity.iccid}, STM32F4 UID ${identity.mcuUid} → ${identity.deviceId}`,
    'slot 2: FAIL at modem-write: AT+QFUPL → +CME ERROR: 409 [device: +CME ERROR: 409]',
    `slot 1: PASS ${identity.deviceId} in 2.5 s (commit #12)`,
    'batch b1: 1 passed, 1 failed in 2.6 s',
  ]);
});

test('JSON view: every event is a JSON line; progress ticks are thinned, edges kept', () => {
  const w = capture();
  const v = createProgressView('json', w);
  for (const e of events) v.onEvent(e);
  const parsed = w.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PipelineEvent);
  const ticks = parsed.filter((e) => e.type === 'progress');
  assert.equal(ticks.length, 1, 'five ticks within 250 ms become one');
  assert.equal(parsed.length, events.length - 4);
  assert.deepEqual(parsed.at(-1), events.at(-1));
});

test('TTY view: one row per slot, redrawn in place, final state shown', () => {
  const w = capture();
  const v = createProgressView('tty', w);
  for (const e of events) v.onEvent(e);
  v.finish();
  assert.match(w.text, /\x1b\[2A/, 'moves the cursor back over the two slot rows');
  const last = w.text.slice(w.text.lastIndexOf('\x1b[2A'));
  assert.match(last, /slot 1\s+PASS \[#{20}\] kl1-0+1 2\.5 s/);
  assert.match(last, /slot 2\s+FAIL at modem-write: AT\+QFUPL → \+CME ERROR: 409/);
});

test('plainLine never prints progress ticks', () => {
  assert.equal(plainLine(events[3]), undefined);
});
