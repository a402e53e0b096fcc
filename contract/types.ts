/**
 * Data that crosses between main and the renderer. Plain JSON only (no Dates, no
 * Buffers): the same values travel over Electron IPC and the loopback WebSocket bridge.
 * Nothing here ever holds a private key or a passphrase.
 */

export interface ProfileSummary {
  name: string;
  description: string;
  /** Modem family the profile targets, e.g. "EC25" or "M66". */
  modem: string;
  /** Whether the MCU gets read-out protection after provisioning. */
  readoutProtection: boolean;
}

export interface StationStatus {
  /** Station directory in use, or null before one is chosen. */
  dir: string | null;
  /** Whether `dir` holds a station (CA and ledger key). */
  exists: boolean;
  unlocked: boolean;
  /** Issuing CA subject, when the station exists. */
  issuingCa: string | null;
  /** SHA-256 fingerprint (colon hex) of the station's ledger-signing public key. */
  stationKeyFingerprint: string | null;
  /** Where the signing keys live: "file" (encrypted PEM) or "pkcs11" (a token). */
  keyStore: 'file' | 'pkcs11' | null;
  profile: string | null;
  profiles: ProfileSummary[];
  ledgerRecords: number;
  /** Remaining passphrase (or token PIN) attempts before the station locks itself. */
  attemptsLeft: number | null;
}

export interface SerialPortInfo {
  path: string;
  manufacturer: string | null;
  serialNumber: string | null;
  vendorId: string | null;
  productId: string | null;
  /** True for a port of the virtual fixture (a PTY made by the simulator). */
  virtual: boolean;
}

export interface SlotAssignment {
  slot: number;
  modemPort: string;
  mcuPort: string;
}

export interface FixtureLayout {
  name: string;
  slots: SlotAssignment[];
  savedAt: string;
}

export interface VirtualFixtureInfo {
  running: boolean;
  slots: SlotAssignment[];
  /** Fault kinds that can be injected into a simulated slot. */
  faults: string[];
}

export type SlotPhase = 'idle' | 'queued' | 'running' | 'pass' | 'fail' | 'stopped';

export interface StepProgress {
  name: string;
  /** 0..100 */
  percent: number;
  state: 'pending' | 'running' | 'done' | 'failed';
}

export interface BoardIds {
  imei: string | null;
  iccid: string | null;
  mcuUid: string | null;
  deviceId: string | null;
}

export interface SlotFailure {
  step: string;
  code: string;
  message: string;
  /** What the device answered, if the failure came from the device. */
  deviceAnswer: string | null;
}

export interface SlotState {
  slot: number;
  modemPort: string;
  mcuPort: string;
  phase: SlotPhase;
  step: string | null;
  steps: StepProgress[];
  ids: BoardIds;
  failure: SlotFailure | null;
  /** Milliseconds since the epoch. */
  startedAt: number | null;
  finishedAt: number | null;
  /** Last log lines of the slot (bounded). */
  log: string[];
}

export interface ThroughputPoint {
  /** Seconds since the batch started. */
  t: number;
  passed: number;
  failed: number;
}

export interface ThroughputStats {
  passed: number;
  failed: number;
  /** Finished boards per hour over the batch so far (0 before the first finishes). */
  boardsPerHour: number;
  /** 0..1, or null before any board finished. */
  passRate: number | null;
  failuresByStep: Record<string, number>;
  timeline: ThroughputPoint[];
}

export interface BatchState {
  id: string | null;
  /** The pipeline's steps in order (for tiles before their first event). */
  steps: string[];
  running: boolean;
  profile: string | null;
  startedAt: number | null;
  slots: SlotState[];
  stats: ThroughputStats;
}

export interface LedgerHit {
  deviceId: string;
  imei: string;
  iccid: string;
  mcuUid: string;
  status: 'committed' | 'aborted' | 'revoked' | 'pending';
  /** ISO 8601 time of the newest record for the device. */
  at: string;
}

export interface CertificateSummary {
  role: 'modem' | 'mcu';
  subject: string;
  issuer: string;
  serial: string;
  san: string[];
  notBefore: string;
  notAfter: string;
  sha256: string;
  publicKeyAlgorithm: string;
  /** The certificate itself (public). */
  pem: string;
}

export interface LedgerRecordSummary {
  index: number;
  type: string;
  at: string;
  /** Record hash (hex), as committed in the Merkle tree. */
  leafHash: string;
}

export interface LedgerDeviceDetail {
  hit: LedgerHit;
  certificates: CertificateSummary[];
  records: LedgerRecordSummary[];
  /** Flat facts recorded for the device (e.g. "modem key readable over AT"). */
  facts: Record<string, string>;
}

export interface ExportProgress {
  exportId: string;
  phase: 'writing' | 'verifying' | 'done' | 'failed';
  done: number;
  total: number;
}

export interface ExportResult {
  exportId: string;
  dir: string;
  records: number;
  verified: boolean;
  /** Merkle root (hex) of the exported tree. */
  root: string;
  message: string;
}
