import type { AtEngine } from './at-engine.ts';
import type { ModemErrorContext } from './errors.ts';
import type { CredentialRole } from './tls-config.ts';

/** One credential file as it will be written: the exact bytes and what the module must report. */
export interface PlannedFile {
  readonly role: CredentialRole;
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly checksum: number;
}

/** What the module reported for a file (size and/or checksum; undefined when not said). */
export interface ReportedFile {
  readonly size: number | undefined;
  readonly checksum: number | undefined;
}

/** Throws when `neededBytes` do not fit in the space the store reported. */
export type RoomCheck = (neededBytes: number) => void;

export interface StoreIo {
  readonly engine: AtEngine;
  readonly context: ModemErrorContext;
  readonly signal?: AbortSignal;
}

export interface StoreTimeouts {
  /** Wait for CONNECT and for each upload ack. */
  readonly connectMs: number;
  /** The module's own data timeout (`<timeout_s>` of QFUPL/QSECWRITE). */
  readonly uploadIdleS: number;
  /** From the last byte to the module's result (flash write; must exceed uploadIdleS). */
  readonly uploadResultMs: number;
}

/**
 * How one family stores credential files. LTE/LPWA: `UFS:` via QFUPL/QFLST/QFDEL;
 * 2G: `NVRAM:` via QSECWRITE/QSECREAD/QSECDEL.
 */
export interface FileStore {
  /** Default file names for a TLS context. */
  defaultNames(ctx: number): Record<CredentialRole, string>;
  /**
   * Before any upload: removes stale copies of `names` and learns the free space. Resolves
   * with the room check for the bytes about to be written (throws ModemStorageError), so the
   * writer can run it once every file's size is known.
   */
  prepare(io: StoreIo, names: readonly string[]): Promise<RoomCheck>;
  /** One upload attempt; resolves with what the module reported. */
  upload(io: StoreIo, file: PlannedFile, onBytes: (sent: number) => void): Promise<ReportedFile>;
  /** Independent read-back after a matching upload (2G QSECREAD), or undefined if none exists. */
  confirm(io: StoreIo, file: PlannedFile): Promise<ReportedFile | undefined>;
  /**
   * Whether the writer checks all files again after the last upload. UFS: yes (QFLST sizes,
   * the only check besides the upload answer); NVRAM: no, confirm() already re-read each one.
   */
  readonly checkAllAfterWrite: boolean;
  /** What the module holds now for each name (size and/or checksum; undefined when absent). */
  inspect(io: StoreIo, names: readonly string[]): Promise<Map<string, ReportedFile | undefined>>;
  /** Deletes a file; a missing file is not an error. */
  remove(io: StoreIo, name: string): Promise<void>;
}

/** `+QFUPL: 1208,5769` → {size: 1208, checksum: 0x5769}; undefined fields if unreadable. */
export function parseSizeChecksum(lines: readonly string[], prefix: string): ReportedFile {
  for (const l of lines) {
    if (!l.toUpperCase().startsWith(prefix.toUpperCase())) continue;
    const m = /^\s*(\d+)\s*,\s*(?:0x)?([0-9A-Fa-f]{1,4})\s*$/.exec(l.slice(prefix.length));
    if (m) return { size: Number(m[1]), checksum: Number.parseInt(m[2], 16) };
  }
  return { size: undefined, checksum: undefined };
}
