/**
 * The station's ledger: durable append-only writer over the pure format in ledger/.
 * See docs/ledger-format.md.
 */
import { join } from 'node:path';

export {
  LedgerWriter,
  LedgerWriteError,
  LedgerClosedError,
  LedgerStationMismatchError,
  RECORDS_FILE,
  CHECKPOINTS_FILE,
  LOCK_FILE,
} from './writer.ts';
export type { LedgerWriterOptions, LedgerOpenReport, AppendResult } from './writer.ts';
export { LedgerLockedError } from './lock.ts';
export { LedgerCorruptError } from './framed-file.ts';
export type {
  LedgerRecord,
  NewLedgerRecord,
  IntentRecord,
  CommitRecord,
  AbortRecord,
  RevokeRecord,
  Finding,
} from '../../ledger/records.ts';
export type { DeviceAttempt, AttemptStatus, HardwareIdMatch } from '../../ledger/state.ts';
export { LedgerConsistencyError } from '../../ledger/state.ts';
export { RecordFormatError } from '../../ledger/records.ts';
export type { SignedCheckpoint, Checkpoint } from '../../ledger/checkpoint.ts';

/** The ledger directory inside a station directory. */
export function ledgerDirOf(stationDir: string): string {
  return join(stationDir, 'ledger');
}
export { exportLedger, readCheckpointFile, LedgerExportError } from './export.ts';
export type { ExportLedgerOptions, ExportSummary } from './export.ts';
