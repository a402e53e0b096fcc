import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { EXPORT_FILES } from '../ledger/export-format.ts';
import {
  ExportVerificationError,
  ExportVerifier,
  type ExportVerifyOptions,
  type VerifiedExport,
} from '../ledger/export-verifier.ts';
import type { LedgerRecord } from '../ledger/records.ts';

export interface ReadExportOptions extends ExportVerifyOptions {
  /** Called for every record after it verified (the export as a whole is not yet proven). */
  onRecord?: (index: number, record: LedgerRecord) => void;
}

function readSmall(dir: string, name: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(join(dir, name)));
  } catch (e) {
    throw new ExportVerificationError(
      name,
      `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/**
 * Reads and verifies an export directory (docs/ledger-format.md), streaming records.jsonl
 * so a million records need no more memory than the indexes. Throws
 * ExportVerificationError naming the first bad file or record.
 */
export function readExport(dir: string, opts: ReadExportOptions = {}): VerifiedExport {
  const F = EXPORT_FILES;
  const verifier = new ExportVerifier(
    {
      manifest: readSmall(dir, F.manifest),
      checkpoint: readSmall(dir, F.checkpoint),
      leaves: readSmall(dir, F.leaves),
      consistency: existsSync(join(dir, F.consistency)) ? readSmall(dir, F.consistency) : undefined,
      stationKeyPem: readSmall(dir, F.stationKey),
      caChainPem: readSmall(dir, F.caChain),
      crlPem: readSmall(dir, F.crl),
    },
    opts,
  );
  let fd: number;
  try {
    fd = openSync(join(dir, F.records), 'r');
  } catch (e) {
    throw new ExportVerificationError(
      F.records,
      `cannot read: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    const CHUNK = 8 << 20;
    let buf = Buffer.alloc(CHUNK);
    let start = 0;
    let end = 0;
    for (;;) {
      if (end === buf.length) {
        // Slide the partial line to the front, growing only for a line longer than a chunk.
        const keep = end - start;
        const next = keep * 2 > buf.length ? Buffer.alloc(buf.length * 2) : buf;
        buf.copy(next, 0, start, end);
        buf = next;
        start = 0;
        end = keep;
      }
      const n = readSync(fd, buf, end, buf.length - end, null);
      if (n === 0) break;
      end += n;
      for (let nl = buf.indexOf(0x0a, start); nl >= 0 && nl < end; nl = buf.indexOf(0x0a, start)) {
        const index = verifier.nextIndex;
        // No copy: addRecord is synchronous and keeps nothing of the bytes.
        const record = verifier.addRecord(buf.subarray(start, nl));
        opts.onRecord?.(index, record);
        start = nl + 1;
      }
    }
    if (start !== end)
      throw new ExportVerificationError(
        F.records,
        'last line has no newline (cut short?)',
        verifier.nextIndex,
      );
  } finally {
    closeSync(fd);
  }
  return verifier.finish(hashFile(dir, F.csv));
}

function hashFile(dir: string, name: string): string {
  const h = createHash('sha256');
  let fd: number;
  try {
    fd = openSync(join(dir, name), 'r');
  } catch (e) {
    throw new ExportVerificationError(name, `cannot read: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
