import { closeSync, fsyncSync, mkdirSync, openSync, readSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../certs/signer.ts';
import {
  signCheckpoint,
  encodeSignedCheckpoint,
  decodeSignedCheckpoint,
} from '../../ledger/checkpoint.ts';
import type { SignedCheckpoint } from '../../ledger/checkpoint.ts';
import { leafHash, sha256, toHex } from '../../ledger/hash.ts';
import { MerkleTree } from '../../ledger/merkle.ts';
import { RecordFormatError, buildRecord, decodeRecord } from '../../ledger/records.ts';
import type { LedgerRecord, NewLedgerRecord } from '../../ledger/records.ts';
import { LedgerState } from '../../ledger/state.ts';
import type { LedgerCaps } from '../../ledger/caps.ts';
import type { DeviceAttempt, HardwareIdMatch, RevokedSerial } from '../../ledger/state.ts';
import type { HardwareIds } from '../../certs/hardware-ids.ts';
import { FRAME_OVERHEAD, MAX_ENTRY_BYTES, encodeFrame, scanFramedFile } from './framed-file.ts';
import { acquireLock, type LedgerLock } from './lock.ts';

export const RECORDS_FILE = 'records.bin';
export const CHECKPOINTS_FILE = 'checkpoints.bin';
export const LOCK_FILE = 'lock';

export interface LedgerWriterOptions {
  /** The station's ledger key; checkpoints are signed with it. */
  signer: Signer;
  stationId: string;
  /**
   * The issuing CA chain (issuer first, DER). When it differs from the ledger's newest
   * `ca` record, a new `ca` record is appended on open.
   */
  caChainDer?: Uint8Array[];
}

/** What opening found and fixed; show it to the operator. */
export interface LedgerOpenReport {
  records: number;
  /** A torn last write that was cut off (power loss during an append). */
  cutTail?: { file: string; bytes: number; reason: string };
  /** A lock left by a process that no longer runs, taken over. */
  staleLockPid?: number;
}

export interface AppendResult {
  index: number;
  leafHashHex: string;
}

/** Writing to the ledger failed; nothing was appended. */
export class LedgerWriteError extends Error {
  override name = 'LedgerWriteError';
  constructor(
    readonly dir: string,
    readonly step: string,
    cause: unknown,
  ) {
    super(`ledger ${dir}: ${step} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/** The ledger belongs to another station; a ledger never changes hands. */
export class LedgerStationMismatchError extends Error {
  override name = 'LedgerStationMismatchError';
  constructor(
    readonly dir: string,
    readonly ledgerStationId: string,
    readonly givenStationId: string,
  ) {
    super(`ledger ${dir} belongs to station ${ledgerStationId}, not ${givenStationId}`);
  }
}

export class LedgerClosedError extends Error {
  override name = 'LedgerClosedError';
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A validated record waiting for its group's write and sync. */
interface StagedAppend {
  index: number;
  record: LedgerRecord;
  hash: Uint8Array;
  frame: Uint8Array;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

/** Grows a Float64Array of byte offsets (exact up to 2^53). */
class OffsetList {
  private a = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  get(i: number): number {
    return this.a[i];
  }
}

/**
 * The station's durable, append-only ledger. One process at a time (lock file); every
 * append and checkpoint is on disk (fdatasync) before its promise resolves; a torn last
 * write is cut back on open and reported.
 */
export class LedgerWriter {
  private readonly tree = new MerkleTree();
  private readonly state = new LedgerState();
  private readonly offsets = new OffsetList();
  private recordsEnd = 0;
  private checkpointsEnd = 0;
  private latest: SignedCheckpoint | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private broken: Error | undefined;
  /** Records validated and applied in memory, waiting for the write that makes them durable. */
  private staged: StagedAppend[] = [];
  /** Whether a group write is queued that will take the staged records. */
  private groupQueued = false;
  /** Bytes of records appended but not yet durable, by index (record() serves them). */
  private readonly pendingBytes = new Map<number, Uint8Array>();
  /**
   * Revoked serials of durable records only: exports pair the CRL with a checkpoint, which
   * covers durable records, while the state already holds appends still in flight.
   */
  private readonly durableRevoked = new Map<string, RevokedSerial>();

  private constructor(
    readonly dir: string,
    private readonly opts: LedgerWriterOptions,
    private readonly records: FileHandle,
    private readonly checkpoints: FileHandle,
    private readonly lock: LedgerLock,
    readonly openReport: LedgerOpenReport,
  ) {}

  /**
   * Opens (creating if needed) the ledger in `dir`: takes the lock, replays and checks
   * every record, cuts a torn tail, and appends a `station` record (and a `ca` record)
   * when the ledger is new or the key/CA changed.
   */
  static async open(dir: string, opts: LedgerWriterOptions): Promise<LedgerWriter> {
    mkdirSync(dir, { recursive: true });
    const lock = acquireLock(join(dir, LOCK_FILE));
    let records: FileHandle | undefined;
    let checkpoints: FileHandle | undefined;
    try {
      records = await openFile(join(dir, RECORDS_FILE), 'a+');
      checkpoints = await openFile(join(dir, CHECKPOINTS_FILE), 'a+');
      fsyncDir(dir);
      const report: LedgerOpenReport = { records: 0, staleLockPid: lock.staleHolderPid };
      const w = new LedgerWriter(dir, opts, records, checkpoints, lock, report);
      await w.load();
      report.records = w.size;
      await w.recordIdentity();
      return w;
    } catch (e) {
      await records?.close().catch(() => undefined);
      await checkpoints?.close().catch(() => undefined);
      lock.release();
      throw e;
    }
  }

  private async load(): Promise<void> {
    const recPath = join(this.dir, RECORDS_FILE);
    const scan = scanFramedFile(recPath, (entry, hash, offset) => {
      const record = decodeRecord(entry);
      this.noteRevocations(record, this.state.size);
      this.state.apply(record);
      this.tree.append(hash);
      this.offsets.push(offset);
    });
    this.recordsEnd = scan.validEnd;
    if (scan.tornReason) {
      await this.records.truncate(scan.validEnd);
      await this.records.sync();
      this.openReport.cutTail = {
        file: RECORDS_FILE,
        bytes: scan.fileSize - scan.validEnd,
        reason: scan.tornReason,
      };
    }
    const cpPath = join(this.dir, CHECKPOINTS_FILE);
    const cps = scanFramedFile(cpPath, (entry) => {
      this.latest = decodeSignedCheckpoint(entry);
    });
    this.checkpointsEnd = cps.validEnd;
    if (cps.tornReason) {
      await this.checkpoints.truncate(cps.validEnd);
      await this.checkpoints.sync();
      this.openReport.cutTail ??= {
        file: CHECKPOINTS_FILE,
        bytes: cps.fileSize - cps.validEnd,
        reason: cps.tornReason,
      };
    }
  }

  private async recordIdentity(): Promise<void> {
    const { signer, stationId, caChainDer } = this.opts;
    const spkiB64 = Buffer.from(signer.publicKeySpki()).toString('base64');
    const st = this.state.station;
    if (st && st.stationId !== stationId)
      throw new LedgerStationMismatchError(this.dir, st.stationId, stationId);
    if (
      !st ||
      st.stationId !== stationId ||
      st.publicKeySpkiB64 !== spkiB64 ||
      st.algorithm !== signer.algorithm
    )
      await this.append({
        type: 'station',
        stationId,
        algorithm: signer.algorithm,
        publicKeySpkiB64: spkiB64,
        keyLocation: signer.location,
      });
    if (caChainDer && caChainDer.length > 0) {
      const chain = caChainDer.map((d) => Buffer.from(d).toString('base64'));
      const ca = this.state.ca;
      if (!ca || ca.chainDerB64.join() !== chain.join())
        await this.append({
          type: 'ca',
          chainDerB64: chain,
          issuerSha256Hex: toHex(sha256(caChainDer[0])),
        });
    }
  }

  /** The station ID checkpoints are made for. */
  get stationId(): string {
    return this.opts.stationId;
  }

  /** DER SPKI of the key that signs this ledger's checkpoints. */
  get stationPublicKeySpki(): Uint8Array {
    return this.opts.signer.publicKeySpki();
  }

  /** Number of records. */
  get size(): number {
    return this.tree.size;
  }

  /** The newest signed checkpoint, if one was made. */
  get latestCheckpoint(): SignedCheckpoint | undefined {
    return this.latest;
  }

  /** The Merkle tree over all records (roots and proofs for any earlier size). */
  get merkle(): MerkleTree {
    return this.tree;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private usable(): void {
    if (this.closed) throw new LedgerClosedError(`ledger ${this.dir} is closed`);
    if (this.broken) throw new LedgerWriteError(this.dir, 'earlier failed write', this.broken);
  }

  /**
   * Appends a record; resolves once it is on disk. The record is validated (schema and
   * its references: a commit must close an open intent of the same device, ...) first.
   *
   * Group commit: appends made while a write is in flight are written together once it
   * ends and share one fdatasync; each promise still resolves only after the sync that
   * covers its record. Records are checked against everything appended before them,
   * durable or not, so the order of calls is the order in the file. A failed write or
   * sync leaves the writer unusable: a failed fsync cannot be retried safely, and the
   * queries already answer from the records it lost.
   *
   * While in flight, a record is already seen by the queries (findBy*, caps, openIntents,
   * record) — a duplicate or cap check must count it — but not by `size`, `merkle`,
   * checkpoints, `revokedSerials` or exports, which cover durable records only.
   */
  append(body: NewLedgerRecord): Promise<AppendResult> {
    try {
      this.usable();
      const { record, bytes } = buildRecord(body);
      if (bytes.length > MAX_ENTRY_BYTES)
        throw new RecordFormatError(`record of ${bytes.length} bytes exceeds ${MAX_ENTRY_BYTES}`);
      const index = this.state.size;
      this.state.check(record, index);
      const hash = leafHash(bytes);
      const frame = encodeFrame(bytes, hash);
      this.state.apply(record);
      this.pendingBytes.set(index, bytes);
      return new Promise<AppendResult>((resolve, reject) => {
        this.staged.push({ index, record, hash, frame, resolve, reject });
        if (!this.groupQueued) {
          this.groupQueued = true;
          void this.serialize(() => this.writeGroup());
        }
      });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** Writes every staged record in one write and one fdatasync, then settles their promises. */
  private async writeGroup(): Promise<void> {
    // Appends arriving from here on queue the next group.
    this.groupQueued = false;
    const group = this.staged;
    this.staged = [];
    if (group.length === 0) return;
    try {
      if (this.broken) throw new LedgerWriteError(this.dir, 'earlier failed write', this.broken);
      const at = this.recordsEnd;
      const frames = group.length === 1 ? group[0].frame : Buffer.concat(group.map((g) => g.frame));
      try {
        await this.durableWrite(this.records, frames, at, 'append');
      } catch (e) {
        // The in-memory state already holds these records: nothing may be appended after them.
        this.broken ??= e as Error;
        throw e;
      }
      let offset = at;
      for (const g of group) {
        this.offsets.push(offset);
        offset += g.frame.length;
        this.tree.append(g.hash);
        this.pendingBytes.delete(g.index);
        this.noteRevocations(g.record, g.index);
      }
      this.recordsEnd = offset;
    } catch (e) {
      for (const g of group) {
        this.pendingBytes.delete(g.index);
        g.reject(e as Error);
      }
      return;
    }
    for (const g of group) g.resolve({ index: g.index, leafHashHex: toHex(g.hash) });
  }

  private noteRevocations(record: LedgerRecord, index: number): void {
    if (record.type !== 'abort' && record.type !== 'revoke') return;
    for (const serialHex of record.revokeSerialsHex)
      this.durableRevoked.set(serialHex, {
        serialHex,
        index,
        time: record.time,
        kind: record.type,
      });
  }

  /** Signs a checkpoint of the current tree and stores it durably. */
  checkpoint(): Promise<SignedCheckpoint> {
    return this.serialize(async () => {
      this.usable();
      const signed = await signCheckpoint(
        {
          stationId: this.opts.stationId,
          treeSize: this.size,
          rootHashHex: toHex(this.tree.root()),
          time: new Date().toISOString(),
        },
        this.opts.signer,
      );
      const frame = encodeFrame(encodeSignedCheckpoint(signed));
      const at = this.checkpointsEnd;
      await this.durableWrite(this.checkpoints, frame, at, 'checkpoint');
      this.checkpointsEnd = at + frame.length;
      this.latest = signed;
      return signed;
    });
  }

  private async durableWrite(
    fh: FileHandle,
    frame: Uint8Array,
    at: number,
    step: string,
  ): Promise<void> {
    try {
      let done = 0;
      while (done < frame.length) {
        const { bytesWritten } = await fh.write(frame, done, frame.length - done, at + done);
        done += bytesWritten;
      }
      await fh.datasync();
    } catch (e) {
      // Put the file back as it was so the next append starts on a whole entry.
      try {
        await fh.truncate(at);
        await fh.datasync();
      } catch (t) {
        this.broken = t as Error;
      }
      throw new LedgerWriteError(this.dir, step, e);
    }
  }

  /** The record at `index` (read back from disk, or from memory while its append is in flight). */
  record(index: number): LedgerRecord {
    return decodeRecord(this.recordBytes(index));
  }

  /** The canonical bytes of the record at `index`. */
  recordBytes(index: number): Uint8Array {
    // Queries see appends in flight (their indexes reach past `size`); serve their bytes.
    const pending = this.pendingBytes.get(index);
    if (pending) return pending.slice();
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`no record ${index} (ledger has ${this.size})`);
    const start = this.offsets.get(index);
    const end = index + 1 < this.size ? this.offsets.get(index + 1) : this.recordsEnd;
    const len = end - start - FRAME_OVERHEAD;
    const buf = new Uint8Array(len);
    const fd = openSync(join(this.dir, RECORDS_FILE), 'r');
    try {
      readSync(fd, buf, 0, len, start + 4);
    } finally {
      closeSync(fd);
    }
    return buf;
  }

  /**
   * Calls `fn` with the canonical bytes of records [from, to) in order, reading the file
   * sequentially (for exports of large ledgers).
   */
  forEachRecordBytes(
    from: number,
    to: number,
    fn: (index: number, bytes: Uint8Array) => void,
  ): void {
    if (from < 0 || to > this.size || from > to) throw new RangeError(`no records ${from}..${to}`);
    if (from === to) return;
    const fd = openSync(join(this.dir, RECORDS_FILE), 'r');
    try {
      const CHUNK = 8 << 20;
      const frameEnd = (k: number) =>
        k + 1 < this.size ? this.offsets.get(k + 1) : this.recordsEnd;
      let i = from;
      while (i < to) {
        const start = this.offsets.get(i);
        // Whole frames i..j-1, about one chunk (at least one frame) per read.
        let j = i + 1;
        while (j < to && frameEnd(j) - start <= CHUNK) j++;
        const buf = new Uint8Array(frameEnd(j - 1) - start);
        readSync(fd, buf, 0, buf.length, start);
        for (let k = i; k < j; k++) {
          const s = this.offsets.get(k) - start;
          fn(k, buf.subarray(s + 4, frameEnd(k) - start - (FRAME_OVERHEAD - 4)));
        }
        i = j;
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Serials that durable abort and revoke records put on the revocation list. */
  revokedSerials(): RevokedSerial[] {
    return [...this.durableRevoked.values()];
  }

  /** Latest attempt per given hardware ID (duplicate check). */
  findByHardwareId(ids: Partial<HardwareIds>): HardwareIdMatch[] {
    return this.state.findByHardwareId(ids);
  }

  findByDeviceId(deviceId: string): DeviceAttempt[] {
    return this.state.findByDeviceId(deviceId);
  }

  findByBatch(batch: string): DeviceAttempt[] {
    return this.state.findByBatch(batch);
  }

  /** Issuance caps as the ledger records them (batch-start and cap records). */
  get caps(): LedgerCaps {
    return this.state.caps;
  }

  /** Intents with no commit or abort yet: crash recovery closes these. */
  openIntents(): DeviceAttempt[] {
    return this.state.openIntents();
  }

  /** Waits for pending writes, closes the files and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.records.close().catch(() => undefined);
    await this.checkpoints.close().catch(() => undefined);
    this.lock.release();
  }
}
