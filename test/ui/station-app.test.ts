import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { Result } from '../../contract/result.ts';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';

const PASSPHRASE = 'station-app test passphrase';
let dir: string;
let app: StationApp;
/** Everything the app sent back or emitted, to check for secrets at the end. */
const sent: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-ui-app-'));
  app = createStationApp({ stationDir: join(dir, 'station'), kdfIterations: 1000 });
  app.events.connect((channel, payload) => sent.push(JSON.stringify({ channel, payload })));
});

after(async () => {
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function call(channel: string, request: unknown): Promise<Result<unknown>> {
  const r = await app.dispatch(channel, request);
  sent.push(JSON.stringify(r));
  return r;
}

async function ok<T>(channel: string, request: unknown): Promise<T> {
  const r = await call(channel, request);
  assert.ok(r.ok, `${channel}: ${JSON.stringify(r)}`);
  return r.value as T;
}

test('station lifecycle through the contract: create, lock, wrong passphrase, unlock, profile', async () => {
  const s0 = await ok<{ exists: boolean; unlocked: boolean }>('station:status', {});
  assert.equal(s0.exists, false);
  const weak = await call('station:create', {
    dir: join(dir, 'station'),
    passphrase: 'short',
    organization: 'T',
  });
  assert.ok(!weak.ok && weak.code === 'invalid-request');

  const created = await ok<{ unlocked: boolean; stationKeyFingerprint: string; issuingCa: string }>(
    'station:create',
    {
      dir: join(dir, 'station'),
      passphrase: PASSPHRASE,
      organization: 'UI tests',
    },
  );
  assert.equal(created.unlocked, true);
  assert.match(created.stationKeyFingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(created.issuingCa, /UI tests/);
  assert.ok(existsSync(join(dir, 'station', 'station.json')));

  const again = await call('station:create', {
    dir: join(dir, 'station'),
    passphrase: PASSPHRASE,
    organization: 'X',
  });
  assert.ok(
    !again.ok && again.code === 'station-exists' && again.kind === 'operator',
    JSON.stringify(again),
  );

  assert.equal((await ok<{ unlocked: boolean }>('station:lock', {})).unlocked, false);
  const locked = await call('ledger:search', { query: '', limit: 10 });
  assert.ok(!locked.ok && locked.code === 'station-locked');

  const sentBefore = sent.length;
  const wrong = await call('station:unlock', { passphrase: 'not the passphrase' });
  assert.ok(
    !wrong.ok && wrong.code === 'wrong-passphrase' && wrong.kind === 'operator',
    JSON.stringify(wrong),
  );
  assert.equal(typeof wrong.details.attemptsLeft, 'number');
  // The refusal is announced too, so an open unlock form shows the attempts left.
  const announced = sent
    .slice(sentBefore)
    .map((m) => JSON.parse(m) as { channel?: string; payload?: { attemptsLeft: unknown } })
    .filter((m) => m.channel === 'station:changed');
  assert.equal(announced.at(-1)?.payload?.attemptsLeft, wrong.details.attemptsLeft);
  // The back-off after a wrong passphrase refuses even the right one until it expires.
  let r = await call('station:unlock', { passphrase: PASSPHRASE });
  for (let i = 0; i < 10 && !r.ok && r.code === 'locked-out'; i++) {
    await sleep(Number(r.details.retryAfterMs ?? 1000) + 50);
    r = await call('station:unlock', { passphrase: PASSPHRASE });
  }
  assert.ok(r.ok, JSON.stringify(r));

  const missing = await call('profile:select', { name: 'no-such-profile' });
  assert.ok(!missing.ok && missing.code === 'profile-missing');
  const chosen = await ok<{ profile: string; profiles: { name: string }[] }>('profile:select', {
    name: 'demo-virtual',
  });
  assert.equal(chosen.profile, 'demo-virtual');
  assert.ok(chosen.profiles.some((p) => p.name === 'demo-virtual'));
});

test('ledger, layouts and ports through the contract; an empty ledger exports and verifies', async () => {
  assert.deepEqual(await ok('ledger:search', { query: '', limit: 10 }), []);
  const none = await call('ledger:device', { deviceId: 'kl1-nothing' });
  assert.ok(!none.ok && none.code === 'not-found');
  const exported = await ok<{ verified: boolean; records: number; root: string }>('ledger:export', {
    outDir: join(dir, 'export'),
  });
  assert.equal(exported.verified, true, JSON.stringify(exported));
  assert.ok(exported.records >= 2, 'station and CA records');
  assert.match(exported.root, /^[0-9a-f]{64}$/);
  const twice = await call('ledger:export', { outDir: join(dir, 'export') });
  assert.ok(!twice.ok && twice.kind === 'operator', JSON.stringify(twice));

  const slots = [{ slot: 1, modemPort: '/dev/ttyUSB0', mcuPort: '/dev/ttyUSB1' }];
  await ok('layout:save', { name: 'bench', slots });
  const layouts = await ok<{ name: string }[]>('layout:list', {});
  assert.deepEqual(
    layouts.map((l) => l.name),
    ['bench'],
  );
  assert.ok(Array.isArray(await ok('ports:list', {})));

  const noBatch = await call('batch:rerun', { slot: 1 });
  assert.ok(!noBatch.ok && noBatch.code === 'no-batch');
});

test('no response or event carried the passphrase or a private key', () => {
  assert.ok(sent.length > 10);
  for (const s of sent) {
    assert.ok(!s.includes(PASSPHRASE));
    assert.doesNotMatch(s, /PRIVATE KEY/);
  }
});
