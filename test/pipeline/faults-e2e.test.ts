import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AbortRecord, LedgerRecord } from '../../ledger/records.ts';
import type { ProvisionStep } from '../../main/pipeline/state-machine.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { unlockStation, type LineStation } from '../../main/pipeline/station.ts';
import { startFixture } from '../../sim/index.ts';
import { PASSPHRASE, makeStation, writeProfile } from './helpers.ts';

/**
 * One fault per slot (fixture fault spec grammar, sim/README.md), plus clean slots: each
 * faulted slot fails alone, at the right step, with a readable reason; the others pass.
 */
interface Case {
  spec: string;
  step: ProvisionStep;
  reason: RegExp;
  answered?: RegExp;
}

const CASES: Case[] = [
  {
    spec: 'modem.error=AT+QCCID',
    step: 'identify',
    reason: /AT\+QCCID → ERROR/,
    answered: /^ERROR$/,
  },
  {
    spec: 'modem.cme=AT+QFUPL/409',
    step: 'modem-write',
    reason: /AT\+QFUPL.*409/,
    answered: /^\+CME ERROR: 409$/,
  },
  { spec: 'modem.stall=AT+QSSLCFG', step: 'modem-write', reason: /AT\+QSSLCFG.*no answer/ },
  { spec: 'modem.corrupt-upload=10', step: 'modem-write', reason: /checksum .*after 3 attempts/ },
  { spec: 'modem.unplug=AT+QFUPL@300', step: 'modem-write', reason: /port closed/ },
  {
    spec: 'mcu.nack-write=1+',
    step: 'mcu-write',
    reason: /NACK .* after 4 attempts/,
    answered: /1f/,
  },
  { spec: 'mcu.stall=write', step: 'mcu-write', reason: /no answer/, answered: /nothing/ },
  { spec: 'mcu.corrupt-read=5#2', step: 'mcu-write', reason: /read-back .* differs/ },
  { spec: 'mcu.drop-read=5#2', step: 'mcu-write', reason: /read .* no answer/ },
];
/** Faults the drivers recover from by themselves: the slot passes and its log says so. */
const RECOVERED: Array<{ spec: string; log: RegExp }> = [
  { spec: 'modem.corrupt-upload=10#1', log: /attempt 1 reported .* checksum/ },
  // A lost byte: the module times the upload out (5 s) with one byte short; the retry works.
  { spec: 'modem.drop-upload=10#1', log: /attempt 1 reported size \d+/ },
  { spec: 'mcu.corrupt-ack=write', log: /garbled answer/ },
  { spec: 'mcu.nack-write=1', log: /NACK .* re-sending/ },
];
const CLEAN = 1;

let dir: string;
let station: LineStation;
let fixture: Awaited<ReturnType<typeof startFixture>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-faults-'));
  station = await unlockStation(await makeStation(dir), PASSPHRASE);
  fixture = await startFixture({
    slots: CASES.length + RECOVERED.length + CLEAN,
    dir: join(dir, 'fixture'),
    seed: 31,
    latencyScale: 0.1,
    modemModel: 'EC25',
    mcuFamily: 'F4',
    faults: [...CASES, ...RECOVERED].map((c, i) => `${i + 1}:${c.spec}`).join(';'),
  });
});

after(async () => {
  station?.close();
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('each fault fails its own slot only, at its step, with a readable reason', async () => {
  const profile = await writeProfile(dir, 'faults');
  const logs: string[] = [];
  const line = await openProvisioningLine({
    station,
    profile,
    batch: 'faults',
    onEvent: (e) => {
      if (e.type === 'log') logs.push(`${e.slot}: ${e.message}`);
    },
  });
  let records: LedgerRecord[];
  let result;
  try {
    result = await line.runner.run(
      fixture.slots.map((s) => ({
        slot: String(s.slot),
        modemPort: s.modemPort,
        mcuPort: s.mcuPort,
      })),
      AbortSignal.timeout(180_000),
    );
    records = Array.from({ length: line.ledger.size }, (_, i) => line.ledger.record(i));
  } finally {
    await line.close();
  }
  const passed = result.passed.map((p) => p.slot).sort();
  const expectPass = Array.from({ length: RECOVERED.length + CLEAN }, (_, i) =>
    String(CASES.length + 1 + i),
  ).sort();
  assert.deepEqual(
    passed,
    expectPass,
    `only recovered and clean slots pass; failures: ${JSON.stringify(result.failed, null, 1)}`,
  );
  RECOVERED.forEach((r, i) => {
    const slot = String(CASES.length + 1 + i);
    assert.ok(
      logs.some((l) => l.startsWith(`${slot}: `) && r.log.test(l)),
      `${r.spec}: the slot log shows the recovery`,
    );
  });
  CASES.forEach((c, i) => {
    const f = result.failed.find((x) => x.slot === String(i + 1));
    assert.ok(f, `${c.spec} failed its slot`);
    assert.equal(f.step, c.step, `${c.spec}: step (${f.reason})`);
    assert.match(f.reason, c.reason, `${c.spec}: reason`);
    if (c.answered) assert.match(f.deviceAnswered ?? '', c.answered, `${c.spec}: device answer`);
    assert.doesNotMatch(f.reason, /PRIVATE KEY|BEGIN EC/, 'no key material in a reason');
    if (c.step === 'identify') {
      assert.equal(f.abortIndex, undefined, 'nothing issued before the intent');
    } else {
      assert.ok(f.abortIndex !== undefined, `${c.spec}: abort record written`);
      const a = records[f.abortIndex] as AbortRecord;
      assert.equal(a.type, 'abort');
      assert.equal(a.step, c.step);
      assert.deepEqual(a.revokeSerialsHex, f.revokedSerials);
      assert.equal(a.revokeSerialsHex.length, 2);
    }
  });
  assert.equal(records.filter((r) => r.type === 'commit').length, RECOVERED.length + CLEAN);
});
