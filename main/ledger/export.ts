import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  openSync,
  closeSync,
  writeSync,
  fsyncSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { buildCrl, pemEncode, type Issuer } from '../../certs/index.ts';
import {
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
  verifyCheckpointSignature,
  type SignedCheckpoint,
} from '../../ledger/checkpoint.ts';
import {
  EXPORT_FILES,
  EXPORT_FORMAT,
  csvHeader,
  csvRow,
  encodeConsistency,
  encodeManifest,
} from '../../ledger/export-format.ts';
import { toHex } from '../../ledger/hash.ts';
import { spkiToPem } from '../../ledger/keys.ts';
import { decodeRecord } from '../../ledger/records.ts';
import type { LedgerWriter } from './writer.ts';

export interface ExportLedgerOptions {
  /** New directory to create (refused if it exists). */
  outDir: string;
  /** The previous export's checkpoint: export only what came after, with a consistency proof. */
  since?: SignedCheckpoint;
  /** The issuing CA (certificate + signer): signs the CRL. */
  issuer: Issuer;
  /** Issuing CA first, then up to the root (DER). */
  caChainDer: Uint8Array[];
  /** CRL validity (default 30 days). */
  crlValidityDays?: number;
  now?: Date;
}

export interface ExportSummary {
  dir: string;
  firstIndex: number;
  treeSize: number;
  checkpoint: SignedCheckpoint;
  revokedSerials: number;
}

/** The export could not be made (bad --since, existing output, ...). */
export class LedgerExportError extends Error {
  override name = 'LedgerExportError';
}

/** Reads a checkpoint from an export directory or a checkpoint.json file. */
export function readCheckpointFile(path: string): SignedCheckpoint {
  const file =
    existsSync(path) && statSync(path).isDirectory() ? join(path, EXPORT_FILES.checkpoint) : path;
  try {
    return decodeSignedCheckpoint(new Uint8Array(readFileSync(file)));
  } catch (e) {
    throw new LedgerExportError(`cannot use ${file} as a checkpoint: ${(e as Error).message}`);
  }
}

function writeDurable(path: string, data: Uint8Array | string): void {
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes an offline export of the ledger (docs/ledger-format.md, "Export"): a fresh signed
 * checkpoint, the records (all, or those after `since`), the consistency proof from
 * `since`, the station key, the CA chain, a CRL of every aborted/revoked serial signed by
 * the issuing CA, and devices.csv. Built in a temporary sibling directory and renamed.
 */
export async function exportLedger(
  writer: LedgerWriter,
  opts: ExportLedgerOptions,
): Promise<ExportSummary> {
  if (existsSync(opts.outDir)) throw new LedgerExportError(`${opts.outDir} already exists`);
  const spki = writer.stationPublicKeySpki;
  if (opts.since) {
    const s = opts.since.checkpoint;
    if (!verifyCheckpointSignature(opts.since, spki) || s.stationId !== writer.stationId)
      throw new LedgerExportError('the --since checkpoint was not signed by this station');
    if (s.treeSize > writer.size || toHex(writer.merkle.root(s.treeSize)) !== s.rootHashHex)
      throw new LedgerExportError(
        `the --since checkpoint (size ${s.treeSize}) is not a state of this ledger (size ${writer.size})`,
      );
  }
  const checkpoint = await writer.checkpoint();
  const size = checkpoint.checkpoint.treeSize;
  const firstIndex = opts.since?.checkpoint.treeSize ?? 0;
  const now = opts.now ?? new Date();
  const revoked = writer.revokedSerials();
  const crl = await buildCrl({
    issuer: opts.issuer,
    crlNumber: size,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + (opts.crlValidityDays ?? 30) * 86_400_000),
    entries: revoked.map((r) => ({
      serialHex: r.serialHex,
      revokedAt: new Date(r.time),
      reason: r.kind === 'abort' ? 'cessationOfOperation' : 'unspecified',
    })),
  });

  mkdirSync(dirname(opts.outDir), { recursive: true });
  const tmp = `${opts.outDir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const F = EXPORT_FILES;
    const rec = openSync(join(tmp, F.records), 'w');
    const csv = openSync(join(tmp, F.csv), 'w');
    try {
      writeSync(csv, csvHeader());
      const NL = Uint8Array.of(0x0a);
      writer.forEachRecordBytes(firstIndex, size, (index, bytes) => {
        writeSync(rec, bytes);
        writeSync(rec, NL);
        writeSync(csv, csvRow(index, decodeRecord(bytes)));
      });
      fsyncSync(rec);
      fsyncSync(csv);
    } finally {
      closeSync(rec);
      closeSync(csv);
    }
    const leaves = new Uint8Array((size - firstIndex) * 32);
    for (let i = firstIndex; i < size; i++)
      leaves.set(writer.merkle.leaf(i), (i - firstIndex) * 32);
    writeDurable(join(tmp, F.leaves), leaves);
    writeDurable(
      join(tmp, F.manifest),
      encodeManifest({
        format: EXPORT_FORMAT,
        stationId: writer.stationId,
        firstIndex,
        treeSize: size,
        compactRangeHex: writer.merkle.compactRange(firstIndex).map(toHex),
        crlNumber: size,
      }),
    );
    writeDurable(join(tmp, F.checkpoint), encodeSignedCheckpoint(checkpoint));
    if (opts.since)
      writeDurable(
        join(tmp, F.consistency),
        encodeConsistency({
          from: opts.since,
          proofHex: writer.merkle.consistencyProof(firstIndex, size).map(toHex),
        }),
      );
    writeDurable(join(tmp, F.stationKey), spkiToPem(spki));
    writeDurable(
      join(tmp, F.caChain),
      opts.caChainDer.map((d) => pemEncode('CERTIFICATE', d)).join(''),
    );
    writeDurable(join(tmp, F.crl), crl.pem);
    renameSync(tmp, opts.outDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return {
    dir: opts.outDir,
    firstIndex,
    treeSize: size,
    checkpoint,
    revokedSerials: revoked.length,
  };
}
