import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deriveDeviceId } from '../../certs/hardware-ids.ts';
import { verifyCheckpointSignature } from '../../ledger/checkpoint.ts';
import { leafHash, toHex } from '../../ledger/hash.ts';
import { verifyInclusion } from '../../ledger/proofs.ts';
import type { NewLedgerRecord } from '../../ledger/records.ts';
import {
  LedgerConsistencyError,
  LedgerCorruptError,
  LedgerLockedError,
  LedgerStationMismatchError,
  LedgerWriter,
  RECORDS_FILE,
  RecordFormatError,
  exportLedger,
} from '../../main/ledger/index.ts';
import { readExport } from '../../server/export-reader.ts';
import { testPki } from './pki.ts';
import {
  commitFor,
  intentFor,
  boardIds,
  tempDir,
  testEd25519Signer,
  testP256Signer,
} from './helpers.ts';

const dirs: { remove: () => void }[] = [];
after(() => dirs.forEach((d) => d.remove()));
function fresh(name: string): string {
  const d = tempDir(name);
  dirs.push(d);
  return d.path;
}
const signer = testEd25519Signer();
const open = (dir: string) => LedgerWriter.open(dir, { signer, stationId: 'st-1' });

describe('LedgerWriter', () => {
  it('appends, answers queries, and tracks attempt status through commit, abort and revoke', async () => {
    const dir = fresh('writer');
    const w = await open(dir);
    try {
      assert.equal(w.size, 1, 'a new ledger starts with its station record');
      assert.equal(w.record(0).type, 'station');
      const i1 = await w.append(intentFor(1));
      const i2 = await w.append(intentFor(2, 'B2'));
      const i3 = await w.append(intentFor(3));
      assert.deepEqual(
        w.openIntents().map((a) => a.intentIndex),
        [i1.index, i2.index, i3.index],
      );
      const c1 = await w.append(commitFor(1, i1.index));
      await w.append({
        type: 'abort',
        intentIndex: i2.index,
        deviceId: w.findByBatch('B2')[0].deviceId,
        step: 'modem-write',
        reason: 'CME ERROR 409',
        revokeSerialsHex: ['1004', '1005'],
      });
      assert.deepEqual(
        w.openIntents().map((a) => a.intentIndex),
        [i3.index],
      );
      const byImei = w.findByHardwareId({ imei: boardIds(1).imei });
      assert.equal(byImei.length, 1);
      assert.equal(byImei[0].attempt.status, 'committed');
      assert.deepEqual(byImei[0].matchedOn, ['imei']);
      assert.equal(w.findByHardwareId({ mcuUid: boardIds(2).mcuUid })[0].attempt.status, 'aborted');
      assert.deepEqual(w.findByHardwareId({ imei: boardIds(9).imei }), []);
      assert.deepEqual(
        w.findByBatch('B1').map((a) => a.status),
        ['committed', 'open-intent'],
      );
      const dev1 = w.findByDeviceId(byImei[0].attempt.deviceId);
      assert.equal(dev1.length, 1);
      await w.append({
        type: 'revoke',
        deviceId: dev1[0].deviceId,
        commitIndex: c1.index,
        revokeSerialsHex: ['1002', '1003'],
        reason: 'board returned',
        operator: 'op',
      });
      assert.equal(w.findByDeviceId(dev1[0].deviceId)[0].status, 'revoked');
      assert.equal(w.findByDeviceId(dev1[0].deviceId)[0].revokeIndex, c1.index + 2);
      // The leaf hash returned is the record's RFC 6962 leaf, provable against the root.
      const cp = await w.checkpoint();
      assert.ok(verifyCheckpointSignature(cp, signer.publicKeySpki()));
      assert.equal(cp.checkpoint.treeSize, w.size);
      const proof = w.merkle.inclusionProof(c1.index);
      const leaf = leafHash(w.recordBytes(c1.index));
      assert.ok(verifyInclusion(leaf, c1.index, w.size, proof, w.merkle.root()));
    } finally {
      await w.close();
    }
    // Reopen: same records, same state, same checkpoint.
    const again = await open(dir);
    try {
      assert.equal(again.size, 7);
      assert.equal(again.openReport.cutTail, undefined);
      assert.equal(again.latestCheckpoint?.checkpoint.treeSize, 7);
      assert.equal(
        again.findByHardwareId({ iccid: boardIds(1).iccid })[0].attempt.status,
        'revoked',
      );
      assert.deepEqual(
        again.openIntents().map((a) => a.intentIndex),
        [3],
      );
    } finally {
      await again.close();
    }
  });

  it('refuses records that contradict the ledger or the schema, writing nothing', async () => {
    const dir = fresh('refuse');
    const w = await open(dir);
    try {
      await assert.rejects(w.append(commitFor(1, 0)), LedgerConsistencyError);
      const i = await w.append(intentFor(1));
      await assert.rejects(w.append(commitFor(2, i.index)), /does not match intent/);
      await w.append(commitFor(1, i.index));
      await assert.rejects(w.append(commitFor(1, i.index)), /already closed/);
      const bad = { ...intentFor(4), batch: 7 } as unknown as Parameters<typeof w.append>[0];
      await assert.rejects(w.append(bad), RecordFormatError);
      await assert.rejects(
        w.append({ type: 'cap' } as unknown as Parameters<typeof w.append>[0]),
        RecordFormatError,
      );
      const huge = { ...intentFor(5), operator: 'x'.repeat(1000) };
      await w.append(huge); // within limits
      const findings = Array.from({ length: 200 }, (_, k) => ({
        id: `f${k}`,
        severity: 'info' as const,
        summary: 's',
        detail: 'd'.repeat(8000),
      }));
      await assert.rejects(
        w.append({ ...commitFor(5, 3), findings } as NewLedgerRecord),
        /exceeds/,
      );
      assert.equal(w.size, 4);
    } finally {
      await w.close();
    }
    const sizeOnDisk = statSync(join(dir, RECORDS_FILE)).size;
    const again = await open(dir);
    assert.equal(again.size, 4);
    await again.close();
    assert.equal(statSync(join(dir, RECORDS_FILE)).size, sizeOnDisk);
  });

  it('serialises concurrent appends from many slots into distinct, durable indexes', async () => {
    const dir = fresh('concurrent');
    const w = await open(dir);
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, n) => w.append(intentFor(100 + n))),
    );
    const indexes = results.map((r) => r.index).sort((a, b) => a - b);
    assert.deepEqual(
      indexes,
      Array.from({ length: 16 }, (_, k) => k + 1),
    );
    const hashes = new Map(results.map((r) => [r.index, r.leafHashHex]));
    // Appends made in one tick go out together; each is checked against the ones before
    // it (the commit closes the intent queued just ahead of it), and a bad one fails alone.
    const intent = w.append(intentFor(200));
    const badCommit = w.append(commitFor(201, 17));
    const commit = w.append(commitFor(200, 17));
    const late = w.append(intentFor(202));
    const abort = w.append({
      type: 'abort',
      intentIndex: 19,
      deviceId: deriveDeviceId(boardIds(202)),
      step: 'mcu-write',
      reason: 'NACK',
      revokeSerialsHex: ['aa01'],
    });
    // In flight: queries already see these records (a duplicate check must), record()
    // serves them, while size and the revocation list (what a checkpoint and an export
    // cover) wait for the sync.
    assert.equal(w.size, 17);
    const pending = w.findByDeviceId(deriveDeviceId(boardIds(202)))[0];
    assert.equal(pending.status, 'aborted');
    assert.equal(w.record(pending.intentIndex).type, 'intent');
    assert.deepEqual(w.revokedSerials(), []);
    await assert.rejects(badCommit, LedgerConsistencyError);
    for (const r of await Promise.all([intent, commit, late, abort]))
      hashes.set(r.index, r.leafHashHex);
    assert.deepEqual([...hashes.keys()].slice(-4), [17, 18, 19, 20]);
    assert.equal(w.size, 21);
    assert.deepEqual(
      w.revokedSerials().map((r) => [r.serialHex, r.index]),
      [['aa01', 20]],
    );
    await w.close();
    const again = await open(dir);
    try {
      assert.equal(again.size, 21);
      assert.deepEqual(
        again.revokedSerials().map((r) => [r.serialHex, r.index]),
        [['aa01', 20]],
      );
      assert.equal(again.findByDeviceId(deriveDeviceId(boardIds(200)))[0].status, 'committed');
      for (const [i, h] of hashes) assert.equal(toHex(leafHash(again.recordBytes(i))), h);
    } finally {
      await again.close();
    }
  });

  it('signs checkpoints with a P-256 signer too, verifiable by algorithm name', async () => {
    const p = testP256Signer();
    const w = await LedgerWriter.open(fresh('p256'), { signer: p, stationId: 'st-p' });
    try {
      await w.append(intentFor(1));
      const cp = await w.checkpoint();
      assert.equal(cp.checkpoint.algorithm, 'ecdsa-p256-sha256');
      assert.ok(verifyCheckpointSignature(cp, p.publicKeySpki()));
      assert.ok(!verifyCheckpointSignature(cp, signer.publicKeySpki()));
      const forged = { ...cp, checkpoint: { ...cp.checkpoint, treeSize: 1 } };
      assert.ok(!verifyCheckpointSignature(forged, p.publicKeySpki()));
    } finally {
      await w.close();
    }
  });

  it('cuts a torn last write on open, reports it, and keeps every whole record', async () => {
    const dir = fresh('torn');
    const w = await open(dir);
    for (let n = 1; n <= 4; n++) await w.append(intentFor(n));
    const rootBefore = toHex(w.merkle.root());
    await w.close();
    const file = join(dir, RECORDS_FILE);
    const whole = statSync(file).size;
    // Half of a fifth frame: what a power cut during write() leaves.
    const w2 = await open(fresh('torn-src'));
    const before = statSync(join(w2.dir, RECORDS_FILE)).size;
    await w2.append(intentFor(5));
    const frame = readFileSync(join(w2.dir, RECORDS_FILE)).subarray(before);
    await w2.close();
    appendFileSync(file, frame.subarray(0, 120));
    const again = await open(dir);
    try {
      assert.equal(again.size, 5);
      assert.equal(toHex(again.merkle.root()), rootBefore);
      assert.equal(again.openReport.cutTail?.file, RECORDS_FILE);
      assert.equal(again.openReport.cutTail?.bytes, 120);
      assert.match(again.openReport.cutTail?.reason ?? '', /cut short|checksum/);
      assert.equal(statSync(file).size, whole);
      await again.append(intentFor(6));
    } finally {
      await again.close();
    }
    const third = await open(dir);
    assert.equal(third.size, 6);
    assert.equal(third.openReport.cutTail, undefined);
    await third.close();
    // A zero-filled tail (the filesystem extended the file, data never landed) is torn too.
    appendFileSync(file, Buffer.alloc(300));
    const fourth = await open(dir);
    assert.equal(fourth.size, 6);
    assert.equal(fourth.openReport.cutTail?.bytes, 300);
    await fourth.close();
  });

  it('refuses a ledger damaged before its last record instead of dropping records', async () => {
    const dir = fresh('corrupt');
    const w = await open(dir);
    for (let n = 1; n <= 3; n++) await w.append(intentFor(n));
    await w.close();
    const file = join(dir, RECORDS_FILE);
    const bytes = readFileSync(file);
    bytes[300] ^= 0x01;
    writeFileSync(file, bytes);
    await assert.rejects(open(dir), LedgerCorruptError);
  });

  it('lets one process hold the lock and takes over a stale lock of a dead process', async () => {
    const dir = fresh('lock');
    const w = await open(dir);
    await assert.rejects(open(dir), LedgerLockedError);
    await w.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    writeFileSync(join(dir, 'lock'), `${deadPid}\nhost\n`);
    const w2 = await open(dir);
    assert.equal(w2.openReport.staleLockPid, deadPid);
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8').split('\n')[0], String(process.pid));
    await w2.close();
    await assert.rejects(
      LedgerWriter.open(dir, { signer, stationId: 'st-other' }),
      LedgerStationMismatchError,
    );
  });

  it('loses no acknowledged record when the writing process is killed with SIGKILL', async () => {
    const dir = fresh('crash');
    for (let round = 0; round < 3; round++) {
      const acked = new Map<number, string>();
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'fixtures', 'append-child.ts'),
          dir,
          // One writer, then many: concurrent appends share writes and syncs.
          String(round === 0 ? 1 : 16),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('child made no progress in 60 s')), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const [kind, idx, hash] = buf.slice(0, nl).split(' ');
            buf = buf.slice(nl + 1);
            if (kind === 'ack') acked.set(Number(idx), hash);
            if (acked.size >= 25 + round * 10 && !child.killed) {
              clearTimeout(timer);
              child.kill('SIGKILL');
            }
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.on('error', reject);
      });
      const w = await LedgerWriter.open(dir, { signer, stationId: 'crash-test' });
      try {
        for (const [idx, hash] of acked)
          assert.equal(toHex(leafHash(w.recordBytes(idx))), hash, `acknowledged record ${idx}`);
        assert.ok(w.size >= Math.max(...acked.keys()) + 1);
        const cp = w.latestCheckpoint;
        if (cp) {
          assert.ok(verifyCheckpointSignature(cp, signer.publicKeySpki()));
          assert.equal(toHex(w.merkle.root(cp.checkpoint.treeSize)), cp.checkpoint.rootHashHex);
        }
        if (round === 2) {
          // The survivor exports and verifies like any ledger.
          const pki = await testPki();
          const out = join(dir, '..', `${dir.split('/').pop()}-export`);
          dirs.push({ remove: () => rmSync(out, { recursive: true, force: true }) });
          await exportLedger(w, { outDir: out, issuer: pki.issuer, caChainDer: pki.chainDer });
          assert.equal(readExport(out).checkpoint.checkpoint.treeSize, w.size);
        }
      } finally {
        await w.close();
      }
    }
  });
});
