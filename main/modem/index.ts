/**
 * Quectel modem driver: AT engine over a Transport, identity, credential write and
 * verification for LTE Standard / LPWA (`UFS:`) and 2G (`NVRAM:`). See docs/modem-driver.md.
 */
export { AtEngine } from './at-engine.ts';
export type {
  AtEngineOptions,
  AtLog,
  AtLogEntry,
  AtResponse,
  CommandOptions,
  SendDataOptions,
} from './at-types.ts';
export { formatChecksum, parseChecksum, quectelChecksum } from './checksum.ts';
export type {
  ClientCredentials,
  DeferredTlsCredentials,
  ExpectedCredentials,
  FileCheck,
  ModemVerifyReport,
  ModemWriteReport,
  ModemWriteStep,
  TlsCredentials,
  WriteOptions,
  WrittenFile,
} from './credential-writer.ts';
export { cmeErrorText, cmsErrorText } from './error-codes.ts';
export {
  ModemClosedError,
  ModemCommandError,
  ModemConfigMismatchError,
  ModemError,
  ModemIdentityError,
  ModemInputError,
  ModemLineOverflowError,
  ModemProtocolError,
  ModemResyncError,
  ModemStorageError,
  ModemTimeoutError,
  ModemUnsupportedError,
  ModemVerifyError,
  type ModemErrorContext,
} from './errors.ts';
export { parseAti, type AtiInfo, type ModemFamily, type ModemIdentity } from './identity.ts';
export {
  classifyLine,
  isUrc,
  parseFinal,
  URC_PREFIXES,
  type LineClass,
} from './line-classifier.ts';
export { AtLineSplitter, type AtToken } from './line-splitter.ts';
export { pemToModemBytes } from './pem.ts';
export {
  openQuectelModem,
  type ModemTimeouts,
  type OpenModemOptions,
  type QuectelModem,
} from './quectel-modem.ts';
export { tlsSettings, type CredentialRole, type TlsSetting } from './tls-config.ts';
