import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXPORT_FILES } from '../../ledger/export-format.ts';
import { ExportVerificationError } from '../../ledger/export-verifier.ts';
import { LedgerWriter, exportLedger, readCheckpointFile } from '../../main/ledger/index.ts';
import { readExport } from '../../server/export-reader.ts';
import { tempDir, testEd25519Signer, testP256Signer } from './helpers.ts';
import { issueBoard, testPki, type TestPki } from './pki.ts';

const tmp = tempDir('export');
after(() => tmp.remove());
const signer = testEd25519Signer(7);

let pki: TestPki;
let first: string; // full export: 2 committed, 1 aborted
let second: string; // incremental export after a revocation and one more device
let ledgerDir: string;

before(async () => {
  pki = await testPki();
  ledgerDir = join(tmp.path, 'ledger');
  const w = await LedgerWriter.open(ledgerDir, {
    signer,
    stationId: 'st-exp',
    caChainDer: pki.chainDer,
  });
  try {
    const boards = [];
    for (let n = 1; n <= 3; n++) boards.push(await issueBoard(pki, n));
    const i1 = await w.append(boards[0].intent);
    const i2 = await w.append(boards[1].intent);
    const i3 = await w.append(boards[2].intent);
    await w.append(boards[0].commit(i1.index));
    await w.append({
      type: 'abort',
      intentIndex: i2.index,
      deviceId: boards[1].issued.deviceId,
      step: 'mcu-write',
      reason: 'NACK after write',
      revokeSerialsHex: [boards[1].issued.modem.serialHex, boards[1].issued.mcu.serialHex],
    });
    const c3 = await w.append(boards[2].commit(i3.index));
    first = join(tmp.path, 'export-1');
    await exportLedger(w, { outDir: first, issuer: pki.issuer, caChainDer: pki.chainDer });
    await w.append({
      type: 'revoke',
      deviceId: boards[2].issued.deviceId,
      commitIndex: c3.index,
      revokeSerialsHex: [boards[2].issued.modem.serialHex, boards[2].issued.mcu.serialHex],
      reason: 'returned',
      operator: 'op',
    });
    const b4 = await issueBoard(pki, 4);
    const i4 = await w.append(b4.intent);
    await w.append(b4.commit(i4.index));
    second = join(tmp.path, 'export-2');
    await exportLedger(w, {
      outDir: second,
      issuer: pki.issuer,
      caChainDer: pki.chainDer,
      since: readCheckpointFile(first),
    });
  } finally {
    await w.close();
  }
});

function copyExport(src: string, name: string): string {
  const dst = join(tmp.path, name);
  cpSync(src, dst, { recursive: true });
  return dst;
}

describe('ledger export and verify', () => {
  it('verifies a full export and an incremental one chained to it', () => {
    const v1 = readExport(first);
    assert.equal(v1.manifest.firstIndex, 0);
    assert.equal(v1.counts.commit, 2);
    assert.equal(v1.counts.abort, 1);
    assert.equal(v1.crl.serialsHex.length, 2);
    const v2 = readExport(second);
    assert.equal(v2.manifest.firstIndex, v1.checkpoint.checkpoint.treeSize);
    assert.equal(v2.counts.commit, 1);
    assert.equal(v2.counts.revoke, 1);
    assert.equal(v2.crl.serialsHex.length, 4);
    assert.deepEqual(v2.consistency?.from, v1.checkpoint);
    const csv = readFileSync(join(first, EXPORT_FILES.csv), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + v1.checkpoint.checkpoint.treeSize);
  });

  it('verifies an export whose checkpoints are signed with ECDSA P-256 (token without EdDSA)', async () => {
    const p256 = testP256Signer();
    const w = await LedgerWriter.open(join(tmp.path, 'ledger-p256'), {
      signer: p256,
      stationId: 'st-p256',
      caChainDer: pki.chainDer,
    });
    try {
      const b = await issueBoard(pki, 61);
      const i = await w.append(b.intent);
      await w.append(b.commit(i.index));
      const out = join(tmp.path, 'export-p256');
      await exportLedger(w, { outDir: out, issuer: pki.issuer, caChainDer: pki.chainDer });
      const v = readExport(out);
      assert.equal(v.checkpoint.checkpoint.algorithm, 'ecdsa-p256-sha256');
      assert.equal(v.counts.commit, 1);
    } finally {
      await w.close();
    }
  });

  it('openssl accepts the exported CRL under the exported CA chain', () => {
    const r = spawnSync('openssl', [
      'crl',
      '-in',
      join(first, EXPORT_FILES.crl),
      '-CAfile',
      join(first, EXPORT_FILES.caChain),
      '-noout',
      '-verify',
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString() + r.stdout.toString(), /verify OK/);
  });

  it('fails on every single flipped byte of the records, checkpoint, proof and other files', () => {
    for (const [src, files] of [
      [first, readdirSync(first)],
      [second, [EXPORT_FILES.consistency, EXPORT_FILES.manifest, EXPORT_FILES.checkpoint]],
    ] as const) {
      const dir = copyExport(src, `flip-${src === first ? 1 : 2}`);
      for (const name of files) {
        const path = join(dir, name);
        const orig = readFileSync(path);
        // Every byte of the small files; an evenly spread sample of ~120 in larger ones.
        // Chains are off here: a flipped certificate byte already breaks its fingerprint.
        const step = orig.length > 400 ? Math.ceil(orig.length / 120) : 1;
        let tried = 0;
        for (let i = 0; i < orig.length; i += step) {
          const bad = Buffer.from(orig);
          bad[i] ^= 1 << (i % 8);
          writeFileSync(path, bad);
          assert.throws(
            () => readExport(dir, { checkChains: false }),
            ExportVerificationError,
            `${name} byte ${i}`,
          );
          tried++;
        }
        writeFileSync(path, orig);
        assert.ok(tried > 0);
      }
      readExport(dir); // restored copy verifies again
    }
  });

  it('fails when records are reordered, dropped, duplicated or inserted, naming the record', () => {
    const dir = copyExport(first, 'reorder');
    const path = join(dir, EXPORT_FILES.records);
    const orig = readFileSync(path, 'utf8');
    const lines = orig.trimEnd().split('\n');
    // [what, lines, index of the first record that must be named]
    const variants: [string, string[], number][] = [
      ['swap', [lines[0], lines[2], lines[1], ...lines.slice(3)], 1],
      ['drop', [...lines.slice(0, 3), ...lines.slice(4)], 3],
      ['drop last', lines.slice(0, -1), -1],
      ['duplicate', [...lines.slice(0, 4), lines[3], ...lines.slice(4)], 4],
      [
        'insert',
        [...lines.slice(0, 2), lines[2].replace('"slot":"s', '"slot":"x'), ...lines.slice(2)],
        2,
      ],
    ];
    for (const [what, v, named] of variants) {
      writeFileSync(path, v.join('\n') + '\n');
      assert.throws(
        () => readExport(dir),
        (e: unknown) =>
          e instanceof ExportVerificationError &&
          e.file === EXPORT_FILES.records &&
          (named < 0 ? /holds \d+ records/.test(e.message) : e.recordIndex === named),
        what,
      );
    }
    writeFileSync(path, orig.trimEnd());
    assert.throws(() => readExport(dir), /no newline/);
  });

  it('rejects an export whose consistency proof comes from a forked history', async () => {
    // Another ledger with the same key and station ID but different records.
    const forkDir = join(tmp.path, 'fork-ledger');
    const w = await LedgerWriter.open(forkDir, {
      signer,
      stationId: 'st-exp',
      caChainDer: pki.chainDer,
    });
    try {
      for (let n = 11; n <= 14; n++) await w.append((await issueBoard(pki, n)).intent);
      const forkCp = await w.checkpoint();
      await w.append((await issueBoard(pki, 15)).intent);
      const out = join(tmp.path, 'fork-export');
      await exportLedger(w, {
        outDir: out,
        issuer: pki.issuer,
        caChainDer: pki.chainDer,
        since: forkCp,
      });
      readExport(out);
      // Graft the real ledger's checkpoint in as "previous": the proof cannot connect them.
      const consistency = JSON.parse(readFileSync(join(out, EXPORT_FILES.consistency), 'utf8'));
      const real = JSON.parse(readFileSync(join(first, EXPORT_FILES.checkpoint), 'utf8'));
      consistency.from = real;
      const { canonicalEncode } = await import('../../ledger/canonical.ts');
      writeFileSync(join(out, EXPORT_FILES.consistency), canonicalEncode(consistency));
      assert.throws(() => readExport(out), /fork|not an extension|previous/);
    } finally {
      await w.close();
    }
  });
});
