import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchStartRecord, CapRecord } from '../../ledger/records.ts';
import { verifyCheckpointSignature } from '../../ledger/checkpoint.ts';
import { createPkcs11Station } from '../../main/hsm/pkcs11-station.ts';
import type { LedgerWriter } from '../../main/ledger/index.ts';
import { raiseIssuanceCap } from '../../main/pipeline/cap-raise.ts';
import { openProvisioningLine } from '../../main/pipeline/line.ts';
import { StationPinError } from '../../main/station/index.ts';
import { unlockStation, type LineStation } from '../../main/pipeline/station.ts';
import { startFixture } from '../../sim/index.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';
import { filesUnder, filesWithPrivateKeys, holdsPrivateKey, keyline, REPO } from './helpers.ts';

const PIN = '112358';
const BATCH = 'capped-batch';

function records<T extends { type: string }>(w: LedgerWriter, type: T['type']): T[] {
  const out: T[] = [];
  for (let i = 0; i < w.size; i++) {
    const r = w.record(i);
    if (r.type === type) out.push(r as unknown as T);
  }
  return out;
}

describe('issuance caps held in signed ledger records (token station, PTY fixture)', () => {
  let hsm: SoftHsm;
  let work: string;
  let stationDir: string;
  let profilePath: string;
  let station: LineStation;
  let fixture: Awaited<ReturnType<typeof startFixture>>;
  let refusedSlot: string;
  const log: string[] = [];
  const writeProfile = (caps: Record<string, number>) => {
    const p = JSON.parse(readFileSync(join(REPO, 'profiles/demo.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    p.caps = caps;
    writeFileSync(profilePath, JSON.stringify(p, null, 2));
  };
  const slots = () =>
    fixture.slots.map((s) => ({
      slot: String(s.slot),
      modemPort: s.modemPort,
      mcuPort: s.mcuPort,
    }));

  before(async () => {
    hsm = createSoftHsm();
    hsm.initToken('caps', PIN);
    work = mkdtempSync(join(tmpdir(), 'keyline-hsm-caps-'));
    stationDir = join(work, 'station');
    profilePath = join(work, 'profile.json');
    await createPkcs11Station(stationDir, { module: SOFTHSM_MODULE, token: 'caps' }, PIN, {
      rootPassphrase: 'caps root passphrase',
      rootOut: join(work, 'offline-root'),
      kdfIterations: 1000,
    });
    station = await unlockStation(stationDir, PIN);
    fixture = await startFixture({
      slots: 3,
      dir: join(work, 'fixture'),
      seed: 29,
      latencyScale: 0.1,
      modemModel: 'EC25',
      mcuFamily: 'F4',
    });
  });
  after(async () => {
    station?.close();
    await fixture?.stop();
    rmSync(work, { recursive: true, force: true });
    hsm.cleanup();
  });

  it('a batch capped at 2: the caps are a signed batch-start record, issuance 3 is refused and the refusal is a record', async () => {
    writeProfile({ perBatch: 2, perHour: 100 });
    const line = await openProvisioningLine({
      station,
      profile: profilePath,
      batch: BATCH,
      onEvent: (e) => log.push(JSON.stringify(e)),
    });
    try {
      const [start] = records<BatchStartRecord>(line.ledger, 'batch-start');
      assert.ok(start, 'batch-start recorded');
      assert.deepEqual(start.caps, { perBatch: 2, perHour: 100 });
      const cp = line.ledger.latestCheckpoint;
      assert.ok(cp, 'a checkpoint follows the batch-start');
      assert.equal(cp.checkpoint.treeSize, line.ledger.size);
      assert.ok(verifyCheckpointSignature(cp, station.station.ledgerPublicKeySpki));

      const r = await line.runner.run(slots(), AbortSignal.timeout(180_000));
      assert.equal(r.passed.length, 2, JSON.stringify(r.failed));
      assert.equal(r.failed.length, 1);
      assert.equal(r.failed[0].code, 'cap');
      refusedSlot = r.failed[0].slot;
      const refusals = records<CapRecord>(line.ledger, 'cap');
      assert.equal(refusals.length, 1);
      assert.deepEqual(
        {
          action: refusals[0].action,
          scope: refusals[0].scope,
          target: refusals[0].target,
          limit: refusals[0].limit,
          count: refusals[0].count,
        },
        { action: 'refuse', scope: 'batch', target: BATCH, limit: 2, count: 2 },
      );
      assert.equal(line.ledger.findByBatch(BATCH).length, 2);
      assert.ok(log.length > 10, 'the run logged its events');
      assert.equal(holdsPrivateKey(Buffer.from(log.join('\n'))), false, 'no key in the event log');
    } finally {
      await line.close();
    }
  });

  it('after a restart with the profile edited to lift the caps, issuance 3 is still refused (and recorded)', async () => {
    station.close();
    writeProfile({ perBatch: 1000, perHour: 1000 });
    station = await unlockStation(stationDir, PIN);
    const line = await openProvisioningLine({ station, profile: profilePath, batch: BATCH });
    try {
      assert.deepEqual(line.runner.caps, { perBatch: 2, perHour: 100 }, 'the ledger, not the file');
      const again = slots().filter((s) => s.slot === refusedSlot);
      const r = await line.runner.run(again, AbortSignal.timeout(120_000));
      assert.equal(r.failed[0]?.code, 'cap', JSON.stringify(r));
      assert.match(r.failed[0].reason, /batch already issued 2 of 2/);
      assert.equal(records<CapRecord>(line.ledger, 'cap').length, 2);
      assert.equal(records<BatchStartRecord>(line.ledger, 'batch-start').length, 1);
      assert.equal(line.ledger.findByBatch(BATCH).length, 2);
    } finally {
      await line.close();
    }
    // A new batch cannot raise the station's hourly cap through its profile either.
    const other = await openProvisioningLine({ station, profile: profilePath, batch: 'next' });
    try {
      assert.deepEqual(other.runner.caps, { perBatch: 1000, perHour: 100 });
    } finally {
      await other.close();
    }
  });

  it('raising the cap is a recorded action that needs the PIN; then issuance 3 goes through', async () => {
    const args = [
      'caps',
      'raise',
      '--station',
      stationDir,
      '--batch',
      BATCH,
      '--per-batch',
      '3',
      '--reason',
      'work order amended',
      '--operator',
      'alice',
      '--json',
    ];
    // In this process the token is logged in already (the open station): the PIN is still checked.
    await assert.rejects(
      raiseIssuanceCap(stationDir, '999999', {
        scope: 'batch',
        target: BATCH,
        limit: 3,
        operator: 'mallory',
        reason: 'no PIN',
      }),
      StationPinError,
    );
    await new Promise((r) => setTimeout(r, 1100)); // the back-off after one failure
    const wrong = await keyline(args, { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: '999999' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /wrong token PIN/);
    const none = await keyline(args, { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: '' });
    assert.notEqual(none.code, 0, 'no PIN, no raise');
    // Two wrong attempts left a 2 s back-off; wait it out.
    await new Promise((r) => setTimeout(r, 2100));
    const ok = await keyline(args, { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: PIN });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      (({ scope, target, previousLimit, limit }) => ({ scope, target, previousLimit, limit }))(
        JSON.parse(ok.stdout) as Record<string, unknown>,
      ),
      { scope: 'batch', target: BATCH, previousLimit: 2, limit: 3 },
    );

    const line = await openProvisioningLine({ station, profile: profilePath, batch: BATCH });
    try {
      assert.equal(line.runner.caps.perBatch, 3);
      const raises = records<CapRecord>(line.ledger, 'cap').filter((c) => c.action === 'raise');
      assert.equal(raises.length, 1);
      assert.equal(raises[0].operator, 'alice');
      const r = await line.runner.run(
        slots().filter((s) => s.slot === refusedSlot),
        AbortSignal.timeout(180_000),
      );
      assert.equal(r.passed.length, 1, JSON.stringify(r.failed));
    } finally {
      await line.close();
    }
  });

  it('the export with batch-start and cap records verifies; no CA private key in the station dir', async () => {
    const env = { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: PIN };
    const out = join(work, 'export');
    const e = await keyline(['ledger', 'export', '--station', stationDir, '--out', out], env);
    assert.equal(e.code, 0, e.stderr);
    const v = await keyline(['ledger', 'verify', out, '--json'], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(readFileSync(join(out, 'devices.csv'), 'utf8'), /batch-start/);
    const files = filesUnder(stationDir);
    assert.ok(files.some((f) => f.endsWith('records.bin')));
    assert.deepEqual(filesWithPrivateKeys(files), []);
  });
});
