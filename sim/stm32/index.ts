/** STM32 ROM bootloader simulator (AN3155 over USART on a PTY). */
export {
  BootloaderSimulator,
  BootloaderSimError,
  ACK,
  NACK,
  type BootloaderSimOptions,
  type BootloaderMode,
  type BootloaderStats,
} from './bootloader.ts';
export {
  BOOTLOADER_STEPS,
  type BootloaderFault,
  type BootloaderStep,
} from './bootloader-faults.ts';
export {
  MCU_FAMILIES,
  familyModel,
  isMcuFamily,
  sectorAt,
  UnknownFamilyError,
  type FamilyModel,
  type FlashSector,
  type McuFamily,
} from './families.ts';
export { McuStateFileError, metaPathFor, type McuStateMeta, type RdpLevel } from './flash-store.ts';
export { SimPortClosedError, SimPortWriteError } from './paced-port.ts';
