import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { HASH_SIZE, bytesEqual, leafHash } from '../../ledger/hash.ts';

/**
 * On-disk framing of the station's ledger files: each entry is
 *   u32 big-endian length | entry bytes | SHA-256(0x00 || entry bytes)
 * The trailing hash is the entry's Merkle leaf hash, so the per-record checksum costs
 * nothing extra and a torn or bit-flipped entry cannot pass as whole.
 */
export const FRAME_OVERHEAD = 4 + HASH_SIZE;
/** Largest entry accepted; anything larger in a length field is damage. */
export const MAX_ENTRY_BYTES = 1 << 20;

export function encodeFrame(entry: Uint8Array, hash: Uint8Array = leafHash(entry)): Uint8Array {
  const out = new Uint8Array(FRAME_OVERHEAD + entry.length);
  new DataView(out.buffer).setUint32(0, entry.length);
  out.set(entry, 4);
  out.set(hash, 4 + entry.length);
  return out;
}

/** The file is damaged before its last entry: refuse it rather than drop good records. */
export class LedgerCorruptError extends Error {
  override name = 'LedgerCorruptError';
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly entryIndex: number,
    reason: string,
  ) {
    super(
      `${path}: entry ${entryIndex} at byte ${offset} is damaged (${reason}) and is not the last write`,
    );
  }
}

export interface ScanResult {
  entries: number;
  /** Offset just past the last whole entry. */
  validEnd: number;
  fileSize: number;
  /** Why the tail past `validEnd` was rejected (undefined when there is none). */
  tornReason?: string;
}

/**
 * Reads every whole entry, calling `onEntry(bytes, hash, offset, index)`; `bytes` is only
 * valid during the call (it views the read buffer). A defect in the
 * final entry (short, bad hash, or a zero-filled tail) is a torn write and is reported
 * via `tornReason`; a defect followed by more data is corruption and throws.
 */
export function scanFramedFile(
  path: string,
  onEntry: (entry: Uint8Array, hash: Uint8Array, offset: number, index: number) => void,
): ScanResult {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const CHUNK = 8 << 20;
    let buf = new Uint8Array(CHUNK);
    let bufStart = 0; // file offset of buf[0]
    let bufLen = 0;
    let pos = 0; // file offset of the next entry
    let index = 0;
    const ensure = (n: number): boolean => {
      // Make [pos, pos+n) available in buf; false if the file ends first.
      if (pos + n > fileSize) return false;
      if (pos + n <= bufStart + bufLen) return true;
      const keep = bufStart + bufLen - pos;
      const need = Math.max(n, CHUNK);
      const next = need > buf.length ? new Uint8Array(need) : buf;
      next.set(buf.subarray(pos - bufStart, pos - bufStart + keep), 0);
      buf = next;
      bufStart = pos;
      bufLen = keep;
      while (bufLen < n) {
        const r = readSync(fd, buf, bufLen, buf.length - bufLen, bufStart + bufLen);
        if (r === 0) return false;
        bufLen += r;
      }
      return true;
    };
    const torn = (reason: string): ScanResult => {
      if (!isTornTail(fd, pos, fileSize)) throw new LedgerCorruptError(path, pos, index, reason);
      return { entries: index, validEnd: pos, fileSize, tornReason: reason };
    };
    while (pos < fileSize) {
      if (!ensure(4)) return torn('length prefix cut short');
      const p = pos - bufStart;
      const len = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
      if (len > MAX_ENTRY_BYTES) return torn(`length ${len} exceeds the entry limit`);
      if (!ensure(len + FRAME_OVERHEAD)) return torn('entry cut short');
      const at = pos - bufStart;
      // A view, not a copy: callers decode the entry and keep nothing of its bytes.
      const entry = buf.subarray(at + 4, at + 4 + len);
      const stored = buf.subarray(at + 4 + len, at + FRAME_OVERHEAD + len);
      const hash = leafHash(entry);
      if (!bytesEqual(hash, stored)) {
        // A bad last entry is a torn write; a bad entry with whole entries after it is not.
        return torn('checksum mismatch');
      }
      onEntry(entry, hash, pos, index);
      pos += FRAME_OVERHEAD + len;
      index++;
    }
    return { entries: index, validEnd: pos, fileSize };
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends are serialised and each is synced before the next starts, so only the final
 * write can be torn: the bytes after the last whole entry must fit in one frame and must
 * not contain a whole valid entry. Anything else is damage inside the log.
 */
function isTornTail(fd: number, from: number, fileSize: number): boolean {
  const n = fileSize - from;
  if (n > MAX_ENTRY_BYTES + FRAME_OVERHEAD) return false;
  const tail = new Uint8Array(n);
  readSync(fd, tail, 0, n, from);
  const view = new DataView(tail.buffer);
  for (let off = 1; off + FRAME_OVERHEAD <= n; off++) {
    const len = view.getUint32(off);
    if (off + FRAME_OVERHEAD + len > n) continue;
    const entry = tail.subarray(off + 4, off + 4 + len);
    if (bytesEqual(leafHash(entry), tail.subarray(off + 4 + len, off + FRAME_OVERHEAD + len)))
      return false;
  }
  return true;
}
