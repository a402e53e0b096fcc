/**
 * What the customer's server runs: import and verification of ledger exports into a
 * DeviceStore, and the reference mutual-TLS endpoint. Never imports main/ (docs/server.md).
 */
export { readExport, type ReadExportOptions } from './export-reader.ts';
export {
  importExport,
  LedgerForkError,
  ImportRefusedError,
  type ImportResult,
  type ImportOptions,
} from './import-export.ts';
export {
  SqliteDeviceStore,
  type DeviceStore,
  type DeviceStoreImport,
  type DeviceEntry,
  type StoredCheckpoint,
  type RevokedSerialEntry,
  type StoredReplayWindow,
  envelopeKeyIdHex,
} from './device-store.ts';
export { authorizeCertificate, type Decision, type DecisionReason } from './authorize.ts';
export {
  createDeviceServer,
  DeviceServer,
  type DeviceServerOptions,
  type DecisionEvent,
} from './device-server.ts';
export { ephemeralServerCertificate, type TlsServerCredentials } from './ephemeral-cert.ts';
export { ExportVerificationError, type VerifiedExport } from '../ledger/export-verifier.ts';
export {
  judgeEnvelope,
  messageEndpoint,
  type MessageDecision,
  type MessageRejectReason,
  type EndToEndServerKey,
  type AcceptedMessage,
} from './e2e/index.ts';
