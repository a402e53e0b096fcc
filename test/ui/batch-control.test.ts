import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchEvent } from '../../contract/channels.ts';
import type { Result } from '../../contract/result.ts';
import type { BatchState, LedgerHit, VirtualFixtureInfo } from '../../contract/types.ts';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';

let dir: string;
let app: StationApp;
const events: BatchEvent[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-ui-batch-'));
  // Realistic module latencies: slow enough that a stop lands mid-provisioning.
  app = createStationApp({
    stationDir: join(dir, 'station'),
    kdfIterations: 1000,
    virtualFixture: { latencyScale: 1 },
  });
  app.events.connect((channel, payload) => {
    if (channel === 'batch:event') events.push(payload as BatchEvent);
  });
});
after(async () => {
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function ok<T>(channel: string, request: unknown): Promise<T> {
  const r = (await app.dispatch(channel, request)) as Result<T>;
  assert.ok(r.ok, `${channel}: ${JSON.stringify(r)}`);
  return r.value;
}

test('stop cancels a running batch: no slot stays busy and the ledger keeps no open intent', async () => {
  await ok('station:create', {
    dir: join(dir, 'station'),
    passphrase: 'batch control pass',
    organization: 'T',
  });
  await ok('profile:select', { name: 'demo-virtual' });
  const fixture = await ok<VirtualFixtureInfo>('fixture:start-virtual', { slots: 2 });
  assert.equal(fixture.slots.length, 2);
  const started = await ok<BatchState>('batch:start', { slots: fixture.slots });
  assert.equal(started.running, true);
  const again = await app.dispatch('batch:start', { slots: fixture.slots });
  assert.ok(!again.ok && again.code === 'batch-running');
  // Wait (on the app's own events) until a slot is past its intent, then stop.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no slot reached issue')), 120_000);
    const off = app.events.connect((channel, payload) => {
      const ev = payload as BatchEvent;
      if (
        channel === 'batch:event' &&
        ev.kind === 'slot' &&
        ev.slot.steps.some((s) => s.name === 'issue' && s.state !== 'pending')
      ) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
  const stopped = await ok<BatchState>('batch:stop', {});
  assert.equal(stopped.running, false);
  for (const s of stopped.slots) assert.ok(['fail', 'stopped', 'pass'].includes(s.phase), s.phase);
  assert.ok(
    stopped.slots.some((s) => s.phase !== 'pass'),
    'the stop came too late to cancel anything',
  );
  const hits = await ok<LedgerHit[]>('ledger:search', { query: '', limit: 10 });
  assert.ok(hits.length > 0);
  assert.ok(
    hits.every((h) => h.status !== 'pending'),
    JSON.stringify(hits),
  );
  assert.ok(events.some((e) => e.kind === 'batch' && !e.state.running));
  await ok('fixture:stop-virtual', {});
});
