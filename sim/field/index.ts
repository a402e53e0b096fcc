/** The simulated board in the field: firmware model, AT host, tapped UART, bus attacker. */
export { startFieldBoard, type FieldBoard, type FieldBoardOptions } from './board.ts';
export { McuFirmware, FirmwareError, type FirmwareOptions, type SentReading } from './firmware.ts';
export { startTap, TapError, type Tap } from './tap.ts';
export { BusAttacker, envelopesOnWire } from './attacker.ts';
export { AtHost, AtHostError } from './at-host.ts';
export { FieldLink, FieldLinkError, type FrameAnswer } from './field-link.ts';
export {
  readCredentialBlob,
  CredentialBlobReadError,
  type FieldCredentials,
} from './credential-blob-reader.ts';
export { deriveSealingKey, forgetSealingKey, seal, SealError, type SealingKey } from './seal.ts';
