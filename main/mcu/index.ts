/**
 * MCU side of the station: AN3155 bootloader client, STM32 family table, the credential
 * blob format and the credential write path.
 */
export {
  BootloaderClient,
  type BootloaderInfo,
  type BootloaderVersion,
} from './bootloader-client.ts';
export {
  DEFAULT_TIMEOUTS,
  type BootloaderClientOptions,
  type BootloaderLogEntry,
  type BootloaderTimeouts,
} from './bootloader-link.ts';
export { MAX_CHUNK, formatBootloaderVersion } from './an3155.ts';
export {
  BootloaderError,
  CredentialAreaError,
  CredentialVerifyError,
  ReadoutProtectedError,
  UnknownMcuError,
  type BootloaderStep,
} from './errors.ts';
export {
  deviceForPid,
  findDevice,
  flashPages,
  knownDevices,
  pageContaining,
  type FamilyName,
  type FlashLayout,
  type FlashPage,
  type McuDevice,
} from './families.ts';
export { identifyMcu, readSystemFields, type McuIdentity } from './identify.ts';
export {
  BLOB_HEADER_SIZE,
  BLOB_MAGIC,
  BLOB_VERSION,
  CredentialBlobError,
  decodeCredentialBlob,
  encodeCredentialBlob,
  type CredentialBlobFields,
  type CredentialBlobProblem,
  type DecodedCredentialBlob,
} from './credential-blob.ts';
export { probeMcu, type McuProbeResult, type ProbeMcuOptions } from './probe.ts';
export {
  planCredentialWrite,
  writeCredentials,
  type CredentialTarget,
  type CredentialWriteProgress,
  type CredentialWriteResult,
  type CredentialWriteStep,
  type WriteCredentialsOptions,
} from './write-credentials.ts';
