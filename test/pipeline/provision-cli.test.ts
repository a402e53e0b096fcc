import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFixture } from '../../sim/index.ts';
import { PASSPHRASE, makeStation, repoRoot, writeProfile } from './helpers.ts';

let dir: string;
let stationDir: string;
let profile: string;
let fixture: Awaited<ReturnType<typeof startFixture>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-pipe-cli-'));
  stationDir = await makeStation(dir);
  profile = await writeProfile(dir, 'cli');
  fixture = await startFixture({ slots: 1, dir: join(dir, 'fixture'), seed: 3, latencyScale: 0.2 });
});

after(async () => {
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

function provision(args: string[], passphrase?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const env = { ...process.env };
    delete env.KEYLINE_PASSPHRASE;
    if (passphrase !== undefined) env.KEYLINE_PASSPHRASE = passphrase;
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'bin/keyline.mjs'), 'provision', ...args],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const base = () => ['--station', stationDir, '--profile', profile];

test('usage errors: no slot, a bad slot, no passphrase', async () => {
  const none = await provision(base(), PASSPHRASE);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give at least one --slot/);
  const bad = await provision([...base(), '--slot', 'modem=/dev/a'], PASSPHRASE);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--slot "modem=\/dev\/a": missing mcu=PORT/);
  const s = fixture.slots[0];
  const nopass = await provision([...base(), '--slot', `modem=${s.modemPort},mcu=${s.mcuPort}`]);
  assert.equal(nopass.code, 2);
  assert.match(nopass.stderr, /no station passphrase: set KEYLINE_PASSPHRASE/);
  assert.equal(nopass.stderr.trim().split('\n').length, 1, 'one-line error');
});

test('plain output on a pipe: one line per step, PASS, summary, exit 0', async () => {
  const s = fixture.slots[0];
  const r = await provision(
    [...base(), '--slot', `modem=${s.modemPort},mcu=${s.mcuPort},name=A`, '--batch', 'cli-1'],
    PASSPHRASE,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^batch cli-1: 1 slot\(s\), profile demo-virtual$/m);
  assert.match(r.stdout, /^slot A: modem-write$/m);
  assert.match(r.stdout, /^slot A: PASS kl1-[0-9a-f]{24} in [\d.]+ s \(commit #\d+\)$/m);
  assert.match(r.stdout, /^OK: batch cli-1, 1 passed, 0 failed$/m);
  assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|pipeline-test-passphrase/);
});

test('the same board again fails as a duplicate: exit 1, JSON lines, summary last', async () => {
  const s = fixture.slots[0];
  const r = await provision(
    [...base(), '--slot', `modem=${s.modemPort},mcu=${s.mcuPort}`, '--batch', 'cli-2', '--json'],
    PASSPHRASE,
  );
  assert.equal(r.code, 1);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const fail = lines.find((l) => l.type === 'fail') as { failure: { code: string } } | undefined;
  assert.equal(fail?.failure.code, 'duplicate');
  assert.deepEqual(lines.at(-1), {
    type: 'summary',
    ok: false,
    batch: 'cli-2',
    passed: 0,
    failed: 1,
    recovered: 0,
    elapsedMs: (lines.at(-1) as { elapsedMs: number }).elapsedMs,
  });
});

test('a wrong passphrase is a one-line error naming no secret', async () => {
  const s = fixture.slots[0];
  const r = await provision(
    [...base(), '--slot', `modem=${s.modemPort},mcu=${s.mcuPort}`],
    'not-the-passphrase',
  );
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(r.stderr, /not-the-passphrase/);
});
