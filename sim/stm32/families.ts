/**
 * Data-only models of the STM32 parts the bootloader simulator can be. Numbers come from
 * protocols.md / protocols-reference.md (B.5, B.6) and the parts' datasheets (typical
 * erase and program times); the simulator interprets them, nothing here talks bytes.
 */

export type McuFamily = 'F4' | 'L4' | 'G0' | 'F1';

export const MCU_FAMILIES: readonly McuFamily[] = ['F4', 'L4', 'G0', 'F1'];

/** One erasable unit: an F4 sector or an L4/G0/F1 page. `index` is its erase number. */
export interface FlashSector {
  readonly index: number;
  /** Offset from the start of main flash. */
  readonly offset: number;
  readonly size: number;
}

/** A readable address range outside main flash and SRAM (system memory, option bytes). */
export interface MemoryRegion {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface FamilyModel {
  readonly family: McuFamily;
  /** Product ID answered by Get ID. */
  readonly pid: number;
  readonly partName: string;
  /** Bootloader protocol version answered by Get and Get Version (0x31 = v3.1). */
  readonly bootloaderVersion: number;
  /** Command codes listed by Get, in the order the ROM lists them. */
  readonly commands: readonly number[];
  readonly flashBase: number;
  readonly flashSize: number;
  readonly sectors: readonly FlashSector[];
  /** Erase units per bank, as [first, last] sector indexes (Extended Erase 0xFFFE/0xFFFD). */
  readonly banks: readonly (readonly [number, number])[];
  readonly sramBase: number;
  readonly sramSize: number;
  readonly uidAddress: number;
  readonly flashSizeAddress: number;
  /** ROM + OTP + device-signature area; reads synthesised bytes (see system-memory.ts). */
  readonly systemMemory: MemoryRegion;
  /** Where the bootloader's own code ends inside systemMemory (pseudo-random below it). */
  readonly romEnd: number;
  readonly optionBytes: MemoryRegion;
  /** Typical erase time of one sector of the given size, in ms, at latencyScale 1. */
  eraseMs(sectorSize: number): number;
  readonly massEraseMs: number;
  /** Typical programming time per 4 bytes, in µs. */
  readonly programUsPer4Bytes: number;
}

const KiB = 1024;
const FLASH_BASE = 0x0800_0000;
const SRAM_BASE = 0x2000_0000;

/** Bootloader v3.x command list (AN3155 Get): Extended Erase 0x44 instead of Erase 0x43. */
const V3_COMMANDS = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92] as const;
/** Bootloader v2.x (F1) lists the classic Erase 0x43. */
const V2_COMMANDS = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92] as const;

function uniformSectors(count: number, size: number): FlashSector[] {
  return Array.from({ length: count }, (_, i) => ({ index: i, offset: i * size, size }));
}

function f4Sectors(): FlashSector[] {
  const sizes = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map((k) => k * KiB);
  let offset = 0;
  return sizes.map((size, index) => {
    const s = { index, offset, size };
    offset += size;
    return s;
  });
}

const F4: FamilyModel = {
  family: 'F4',
  pid: 0x413,
  partName: 'STM32F405/407/415/417',
  bootloaderVersion: 0x31,
  commands: V3_COMMANDS,
  flashBase: FLASH_BASE,
  flashSize: 1024 * KiB,
  sectors: f4Sectors(),
  banks: [[0, 11]],
  sramBase: SRAM_BASE,
  sramSize: 128 * KiB,
  uidAddress: 0x1fff_7a10,
  flashSizeAddress: 0x1fff_7a22,
  // 30 KiB ROM, 528 B OTP at 0x1FFF7800, then UID and flash-size registers.
  systemMemory: { start: 0x1fff_0000, end: 0x1fff_7c00 },
  romEnd: 0x1fff_7800,
  optionBytes: { start: 0x1fff_c000, end: 0x1fff_c010 },
  // F405 datasheet, x32 parallelism: 16 KiB 250 ms, 64 KiB 550 ms, 128 KiB 1 s; word 16 µs.
  eraseMs: (size) => (size <= 16 * KiB ? 250 : size <= 64 * KiB ? 550 : 1000),
  massEraseMs: 8000,
  programUsPer4Bytes: 16,
};

/** What differs between single-bank parts whose flash is uniform pages with one erase time. */
type PagedPartSpec = Omit<
  FamilyModel,
  'flashBase' | 'sramBase' | 'sectors' | 'banks' | 'eraseMs'
> & {
  readonly pageSize: number;
  readonly pageEraseMs: number;
};

function pagedPart({ pageSize, pageEraseMs, ...spec }: PagedPartSpec): FamilyModel {
  const pageCount = spec.flashSize / pageSize;
  return {
    ...spec,
    flashBase: FLASH_BASE,
    sramBase: SRAM_BASE,
    sectors: uniformSectors(pageCount, pageSize),
    banks: [[0, pageCount - 1]],
    eraseMs: () => pageEraseMs,
  };
}

// L43x datasheet: page erase 22 ms, mass erase 22 ms, 64-bit program 82 µs.
const L4 = pagedPart({
  family: 'L4',
  pid: 0x435,
  partName: 'STM32L43x/44x',
  bootloaderVersion: 0x31,
  commands: V3_COMMANDS,
  flashSize: 256 * KiB,
  pageSize: 2 * KiB,
  sramSize: 64 * KiB,
  uidAddress: 0x1fff_7590,
  flashSizeAddress: 0x1fff_75e0,
  systemMemory: { start: 0x1fff_0000, end: 0x1fff_7600 },
  romEnd: 0x1fff_7000,
  optionBytes: { start: 0x1fff_7800, end: 0x1fff_7810 },
  pageEraseMs: 22,
  massEraseMs: 22,
  programUsPer4Bytes: 41,
});

// G07x datasheet: page erase 22 ms, mass erase 22 ms, 64-bit program 85 µs.
const G0 = pagedPart({
  family: 'G0',
  pid: 0x460,
  partName: 'STM32G07x/08x',
  bootloaderVersion: 0x31,
  commands: V3_COMMANDS,
  flashSize: 128 * KiB,
  pageSize: 2 * KiB,
  sramSize: 36 * KiB,
  uidAddress: 0x1fff_7590,
  flashSizeAddress: 0x1fff_75e0,
  systemMemory: { start: 0x1fff_0000, end: 0x1fff_7600 },
  romEnd: 0x1fff_7000,
  optionBytes: { start: 0x1fff_7800, end: 0x1fff_7810 },
  pageEraseMs: 22,
  massEraseMs: 22,
  programUsPer4Bytes: 43,
});

// F103 datasheet: page erase 20 ms, mass erase 20 ms, half-word program 52.5 µs.
const F1 = pagedPart({
  family: 'F1',
  pid: 0x410,
  partName: 'STM32F10x medium-density',
  bootloaderVersion: 0x22,
  commands: V2_COMMANDS,
  flashSize: 128 * KiB,
  pageSize: KiB,
  sramSize: 20 * KiB,
  uidAddress: 0x1fff_f7e8,
  flashSizeAddress: 0x1fff_f7e0,
  systemMemory: { start: 0x1fff_f000, end: 0x1fff_f800 },
  romEnd: 0x1fff_f7e0,
  optionBytes: { start: 0x1fff_f800, end: 0x1fff_f810 },
  pageEraseMs: 20,
  massEraseMs: 20,
  programUsPer4Bytes: 105,
});

const MODELS: Readonly<Record<McuFamily, FamilyModel>> = { F4, L4, G0, F1 };

export class UnknownFamilyError extends Error {
  override name = 'UnknownFamilyError';
  constructor(readonly value: string) {
    super(`unknown MCU family "${value}" (known: ${MCU_FAMILIES.join(', ')})`);
  }
}

export function isMcuFamily(value: string): value is McuFamily {
  return (MCU_FAMILIES as readonly string[]).includes(value);
}

export function familyModel(family: McuFamily | string): FamilyModel {
  if (!isMcuFamily(family)) throw new UnknownFamilyError(family);
  return MODELS[family];
}

/** The sector (erase unit) holding a main-flash address, or undefined outside flash. */
export function sectorAt(model: FamilyModel, address: number): FlashSector | undefined {
  const off = address - model.flashBase;
  if (off < 0 || off >= model.flashSize) return undefined;
  return model.sectors.find((s) => off >= s.offset && off < s.offset + s.size);
}
