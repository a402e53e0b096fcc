/** The station directory: creation, CA import, unlocking (docs/station-dir.md). */
export {
  createStation,
  importIssuingCa,
  DEFAULT_UNLOCK_POLICY,
  MIN_PASSPHRASE_LENGTH,
  type StationInfo,
  type CreateStationOptions,
  type ImportIssuingCaOptions,
  type UnlockPolicy,
} from './create-station.ts';
export {
  openStation,
  readStationConfig,
  type Station,
  type OpenStationOptions,
} from './open-station.ts';
export { STATION_FILES, STATION_FORMAT, type StationConfig, type KeyLocation } from './layout.ts';
export {
  StationError,
  StationExistsError,
  StationNotFoundError,
  StationCorruptError,
  WeakPassphraseError,
  StationPassphraseError,
  StationPinError,
} from './errors.ts';
export { UnlockBackoffError, UnlockLockedError } from '../hsm/attempt-guard.ts';
export { writeFileAtomic, fsyncDir } from './atomic-write.ts';
