import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AbortRecord, CommitRecord, RevokeRecord } from '../../ledger/records.ts';
import { readExport } from '../../server/export-reader.ts';
import { startFixture } from '../../sim/index.ts';
import { collectLedger, makeStation, spawnProvision, writeProfile } from './helpers.ts';

/** Steps at which the station is killed (kill -9 as soon as it reports entering them). */
const KILL_AT = ['intent', 'issue', 'modem-write', 'mcu-write', 'commit'] as const;

let dir: string;
let stationDir: string;
let profilePath: string;
let fixture: Awaited<ReturnType<typeof startFixture>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-crashpts-'));
  stationDir = await makeStation(dir);
  profilePath = await writeProfile(dir, 'crashpts');
  fixture = await startFixture({
    slots: 1,
    dir: join(dir, 'fixture'),
    seed: 13,
    latencyScale: 0.1,
  });
});

after(async () => {
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('killed at each step in turn, the board ends committed once and the ledger verifies', async () => {
  const s = fixture.slots[0];
  const args = (batch: string) => [
    '--station',
    stationDir,
    '--profile',
    profilePath,
    '--batch',
    batch,
    '--reprovision',
    '--slot',
    `modem=${s.modemPort},mcu=${s.mcuPort}`,
  ];
  const reached: string[] = [];
  for (const step of KILL_AT) {
    let killed = false;
    const run = await spawnProvision(args(`kill-${step}`), (l, child) => {
      if (!killed && l.type === 'state' && l.to === step) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    if (run.signal === 'SIGKILL') reached.push(step);
    else assert.equal(run.code, 0, `run to ${step} finished on its own: ${run.stderr}`);
    // The operator resets the board after a station crash (a real fixture's reset line).
    s.mcu.powerCycle();
    await s.modem.powerCycle();
  }
  assert.ok(
    reached.length >= 3,
    `the station died mid-run at least 3 times (${reached.join(', ')})`,
  );

  const final = await spawnProvision(args('final'));
  assert.equal(
    final.code,
    0,
    `${final.stderr} ${JSON.stringify(final.lines.filter((l) => l.type === 'fail'))}`,
  );

  const { records, openIntents } = await collectLedger(stationDir, join(dir, 'export'));
  assert.deepEqual(openIntents, [], 'every intent is closed');
  const commits = records.filter((r): r is CommitRecord => r.type === 'commit');
  const revoked = new Set(
    records.filter((r): r is RevokeRecord => r.type === 'revoke').map((r) => r.commitIndex),
  );
  const live = commits.filter((c) => !revoked.has(records.indexOf(c)));
  assert.equal(live.length, 1, 'exactly one live commit for the board');
  assert.equal(live[0].hardwareIds.imei, s.imei);
  // Each commit carries what was written: the modem holds the live commit's certificate.
  const held = Buffer.from(s.modem.files('UFS').get('klcc1.pem') ?? new Uint8Array()).toString();
  assert.match(
    held,
    new RegExp(live[0].certificates.modem.derB64.slice(0, 60).replace(/[+/]/g, '.')),
  );
  for (const a of records.filter((r): r is AbortRecord => r.type === 'abort'))
    assert.match(a.reason, /^station crashed during /);
  const v = readExport(join(dir, 'export'));
  assert.equal(v.counts.commit, commits.length);
});
