import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AbortRecord, CommitRecord } from '../../ledger/records.ts';
import { readExport } from '../../server/export-reader.ts';
import { startFixture } from '../../sim/index.ts';
import { collectLedger, makeStation, spawnProvision, writeProfile } from './helpers.ts';

let dir: string;
let stationDir: string;
let profilePath: string;
let fixture: Awaited<ReturnType<typeof startFixture>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-crash-'));
  stationDir = await makeStation(dir);
  profilePath = await writeProfile(dir, 'crash');
  // Slots 3 and 4 erase slowly, so the kill finds them mid-write while 1 and 2 are done.
  fixture = await startFixture({
    slots: 4,
    dir: join(dir, 'fixture'),
    seed: 11,
    latencyScale: 0.2,
    modemModel: 'EC25',
    mcuFamily: 'F4',
    faults: '3-4:mcu.slow-erase=8',
  });
});

after(async () => {
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `keyline provision` over all four slots, as a child process. */
function provision(batch: string, onLine: Parameters<typeof spawnProvision>[1] = () => {}) {
  return spawnProvision(
    [
      '--station',
      stationDir,
      '--profile',
      profilePath,
      '--batch',
      batch,
      '--operator',
      'crash-test',
      ...fixture.slots.flatMap((s) => [
        '--slot',
        `modem=${s.modemPort},mcu=${s.mcuPort},name=${s.slot}`,
      ]),
    ],
    onLine,
  );
}

test('kill -9 mid-batch, then a rerun: every board committed exactly once, ledger verifies', async () => {
  const passed = new Set<string>();
  const writing = new Set<string>();
  let killed = false;
  const first = await provision('crash-1', (l, child) => {
    if (l.type === 'pass' && l.slot) passed.add(l.slot);
    if (l.type === 'state' && l.slot && (l.to === 'mcu-write' || l.to === 'modem-write'))
      writing.add(l.slot);
    if (!killed && passed.has('1') && passed.has('2') && writing.has('3') && writing.has('4')) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  assert.equal(first.signal, 'SIGKILL', `the station was killed (stderr: ${first.stderr})`);
  assert.ok(!passed.has('3') && !passed.has('4'), 'slots 3 and 4 were cut off mid-write');

  // As after any station crash on a real line, the operator resets the boards (a fixture
  // drives their reset lines): a bootloader left mid-command by a dead host needs it.
  for (const s of fixture.slots) {
    s.mcu.powerCycle();
    await s.modem.powerCycle();
  }
  const second = await provision('crash-2', () => {});
  const byslot = new Map(
    second.lines.filter((l) => l.type === 'pass' || l.type === 'fail').map((l) => [l.slot, l]),
  );
  for (const s of ['1', '2']) {
    const l = byslot.get(s);
    assert.equal(l?.type, 'fail', `slot ${s} already committed`);
    assert.equal(l?.failure?.code, 'duplicate');
  }
  for (const s of ['3', '4'])
    assert.equal(
      byslot.get(s)?.type,
      'pass',
      `slot ${s} provisions normally: ${JSON.stringify(byslot.get(s))} ${second.stderr}`,
    );
  const recovered = second.lines.filter((l) => l.type === 'recovered');
  assert.equal(recovered.length, 2, 'both orphaned intents were closed on start');

  const { records, openIntents } = await collectLedger(stationDir, join(dir, 'export'));
  assert.deepEqual(openIntents, [], 'no intent left open');
  const commits = records.filter((r): r is CommitRecord => r.type === 'commit');
  for (const s of fixture.slots)
    assert.equal(
      commits.filter((c) => c.hardwareIds.imei === s.imei).length,
      1,
      `board ${s.slot} committed exactly once`,
    );
  const aborts = records.filter((r): r is AbortRecord => r.type === 'abort');
  assert.equal(aborts.length, 2);
  for (const a of aborts) {
    assert.match(a.reason, /^station crashed during (modem-write|audit|mcu-write)/);
    assert.equal(a.revokeSerialsHex.length, 2);
  }
  const v = readExport(join(dir, 'export'));
  assert.equal(v.counts.commit, 4);
  for (const a of aborts)
    for (const serial of a.revokeSerialsHex) assert.ok(v.crl.serialsHex.includes(serial));
});
