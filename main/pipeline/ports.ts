import type { HardwareIds } from '../../certs/hardware-ids.ts';
import type { IntentRecord, NewLedgerRecord } from '../../ledger/records.ts';
import type { AtEngine, ModemWriteReport } from '../modem/index.ts';
import type { CapName, IssuanceCaps, IssuanceEntry } from './caps.ts';

/**
 * What the pipeline needs from the parts around it, in the pipeline's own terms. Each is
 * implemented over the real module in ./adapters/ (station + certs, ledger writer, modem
 * driver, bootloader client); the interfaces keep the state machine readable and let the
 * UI or a later PKCS#11 issuer plug in without touching the steps.
 */

/** Progress reported by a long device step. */
export interface StepProgress {
  /** 0..1 of the step done. */
  fraction: number;
  bytes?: number;
  bytesTotal?: number;
  message: string;
}

export interface ModemIdentityFacts {
  /** Driver family chosen from ATI: 'lte' (UFS), 'lpwa' (UFS) or '2g' (NVRAM). */
  family: string;
  model: string;
  firmware: string;
  imei: string;
  iccid: string;
}

/** The modem's own certificate and private key, as PEM. */
export interface ClientPems {
  clientCertPem: string;
  clientKeyPem: string;
}

/** An opened, identified modem on one slot. */
export interface BoardModem {
  readonly identity: ModemIdentityFacts;
  /**
   * The driver session behind it, for the audit step (issue 12): the AT engine and what
   * the last credential write reported (files, sizes, checksums, TLS context read back).
   */
  readonly driver?: { engine: AtEngine; lastWrite(): ModemWriteReport | undefined };
  /**
   * Uploads CA, client certificate and key, configures the TLS context, verifies all of it.
   * With `client` a promise, the write starts before the certificates exist: it prepares the
   * module meanwhile and uploads nothing until they come (a rejection fails the write).
   */
  writeTlsCredentials(
    creds: { caCertPem: string } & (ClientPems | { client: Promise<ClientPems> }),
    opts: { onProgress: (p: StepProgress) => void; signal: AbortSignal },
  ): Promise<void>;
  close(): Promise<void>;
}

/** An opened, synced STM32 bootloader on one slot. */
export interface BoardMcu {
  readonly family: string;
  readonly mcuUid: string;
  /** Erases the credential area, writes the blob, reads back and compares. */
  writeCredentials(
    blob: Uint8Array,
    opts: { onProgress: (p: StepProgress) => void; signal: AbortSignal },
  ): Promise<void>;
  /** Sets read-out protection level 1 (the chip resets; the session is over afterwards). */
  readoutProtect(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  slot: string;
  signal: AbortSignal;
  log: (message: string, level?: 'info' | 'warn') => void;
}

/** Opens the two devices of a slot. */
export interface BoardConnector {
  openModem(port: string, opts: OpenOptions): Promise<BoardModem>;
  openMcu(port: string, opts: OpenOptions): Promise<BoardMcu>;
}

/** Public facts of one planned certificate (what the intent records). */
export interface PlannedCert {
  serialHex: string;
  tbsSha256Hex: string;
}

/** Both key pairs generated and both TBSCertificates built, nothing signed yet. */
export interface PlannedDevice {
  deviceId: string;
  modem: PlannedCert;
  mcu: PlannedCert;
  zeroize(): void;
}

export interface IssuedCert {
  serialHex: string;
  certificateDer: Uint8Array;
  certificatePem: string;
  fingerprintSha256Hex: string;
}

/** Signed certificates and the private keys they certify. `zeroize()` wipes every key byte held. */
export interface IssuedDevice {
  deviceId: string;
  modem: IssuedCert & { privateKeyPem: string };
  mcu: IssuedCert & { privateKeyScalar: Uint8Array };
  zeroize(): void;
}

/** Issues a board's two certificates in two phases (plan → intent → sign). */
export interface DeviceIssuer {
  plan(ids: HardwareIds, opts: { validityDays: number }): Promise<PlannedDevice>;
  sign(plan: PlannedDevice): Promise<IssuedDevice>;
}

/** A committed, unrevoked device the ledger already holds. */
export interface CommittedDevice {
  commitIndex: number;
  deviceId: string;
  hardwareIds: HardwareIds;
  serialsHex: string[];
}

/** The ledger as the pipeline uses it. Every append is durable when it resolves. */
export interface LedgerPort {
  append(record: NewLedgerRecord): Promise<{ index: number }>;
  /** Committed and not revoked devices sharing any of these hardware IDs. */
  committedDevicesFor(ids: HardwareIds): Promise<CommittedDevice[]>;
  /** Intents with neither commit nor abort (a crashed run's leftovers, or slots in flight). */
  openIntents(): Promise<Array<{ index: number; record: IntentRecord }>>;
  /**
   * The intents the issuance caps count: every intent of `batch` and every intent
   * recorded at or after `sinceMs` (each intent once).
   */
  issuanceEntries(batch: string, sinceMs: number, workOrder?: string): Promise<IssuanceEntry[]>;
  /**
   * The caps a batch runs under. The first call for a batch records a `batch-start` with
   * `requested` (never above the station's hourly or the work order's cap in force) and a
   * signed checkpoint; later calls return the recorded caps whatever is requested.
   */
  startBatch(req: BatchStartRequest): Promise<{ caps: IssuanceCaps; started: boolean }>;
  /** Records a refused issuance as a `cap` record (durable when it resolves). */
  recordCapRefusal(refusal: CapRefusal): Promise<{ index: number }>;
}

export interface BatchStartRequest {
  batch: string;
  workOrder?: string;
  profile: string;
  operator: string;
  requested: IssuanceCaps;
}

export interface CapRefusal {
  cap: CapName;
  limit: number;
  count: number;
  batch: string;
  workOrder?: string;
  operator: string;
  message: string;
}

/** Encodes the MCU credential blob (the format belongs to main/mcu). */
export type BlobEncoder = (fields: {
  deviceId: string;
  mcuUid: string;
  mcuPrivateKey: Uint8Array;
  mcuCertificateDer: Uint8Array;
  serverPublicKey: Uint8Array;
  modemCertSha256: Uint8Array;
}) => Uint8Array;

/** The later audit step (issue 12): read-only checks of the module after the write. */
export type AuditHook = (ctx: {
  slot: string;
  modem: BoardModem;
  signal: AbortSignal;
}) => Promise<{ findings: FindingLike[]; modemKeyReadable?: boolean }>;

export interface FindingLike {
  id: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  summary: string;
  detail?: string;
}
