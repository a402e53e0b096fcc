/**
 * STM32 family table: what keyline needs to know about a part once Get ID has named it.
 * Values come from /work/shared/protocols.md and protocols-reference.md B.5/B.6 (which
 * follow stm32flash's dev_table and the reference manuals). A PID missing here is an
 * error, never a guess: writing a credential page with the wrong layout would erase
 * firmware.
 */
import { UnknownMcuError } from './errors.ts';

export type FamilyName = 'F0' | 'F1' | 'F4' | 'L4' | 'G0' | 'G4' | 'H7';

/** One erasable unit of main flash: a page (L4, G0, …) or a sector (F4, H7). */
export interface FlashPage {
  /** The number Erase / Extended Erase takes for this unit. */
  index: number;
  address: number;
  size: number;
}

/** Sizes of the erase units from the flash base, in order (runs of equal sizes). */
export interface FlashLayout {
  kind: 'pages' | 'sectors';
  runs: ReadonlyArray<{ count: number; size: number }>;
}

export interface McuDevice {
  pid: number;
  family: FamilyName;
  /** Part names as AN2606 groups them under this PID. */
  part: string;
  flashBase: number;
  /** Address of the 96-bit unique ID (12 bytes). */
  uidAddress: number;
  /** Address of the 16-bit flash size in KiB (little-endian). */
  flashSizeAddress: number;
  layout: FlashLayout;
  /** Smallest programmable unit; writes are padded with 0xFF up to it. */
  writeGranularity: number;
  /** What the family's bootloader is expected to list; the client still follows Get. */
  eraseCommand: 'erase' | 'extended-erase';
}

const KiB = 1024;
const pages = (size: number, count: number): FlashLayout => ({
  kind: 'pages',
  runs: [{ count, size }],
});
/** F2/F4 bank pattern: 4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB. */
const f4Bank = [
  { count: 4, size: 16 * KiB },
  { count: 1, size: 64 * KiB },
  { count: 7, size: 128 * KiB },
];

interface FamilyCommon {
  family: FamilyName;
  uidAddress: number;
  flashSizeAddress: number;
  writeGranularity: number;
  eraseCommand: McuDevice['eraseCommand'];
}

const F0: FamilyCommon = {
  family: 'F0',
  uidAddress: 0x1fff_f7ac,
  flashSizeAddress: 0x1fff_f7cc,
  writeGranularity: 4,
  eraseCommand: 'extended-erase',
};
const F1: FamilyCommon = {
  family: 'F1',
  uidAddress: 0x1fff_f7e8,
  flashSizeAddress: 0x1fff_f7e0,
  writeGranularity: 4,
  eraseCommand: 'erase',
};
const F4: FamilyCommon = {
  family: 'F4',
  uidAddress: 0x1fff_7a10,
  flashSizeAddress: 0x1fff_7a22,
  writeGranularity: 4,
  eraseCommand: 'extended-erase',
};
// L4, G0 and G4 program 64-bit double words; H7 programs 256-bit flash words.
const L4: FamilyCommon = {
  family: 'L4',
  uidAddress: 0x1fff_7590,
  flashSizeAddress: 0x1fff_75e0,
  writeGranularity: 8,
  eraseCommand: 'extended-erase',
};
const G0: FamilyCommon = { ...L4, family: 'G0' };
const G4: FamilyCommon = { ...L4, family: 'G4' };
const H7: FamilyCommon = {
  family: 'H7',
  uidAddress: 0x1ff1_e800,
  flashSizeAddress: 0x1ff1_e880,
  writeGranularity: 32,
  eraseCommand: 'extended-erase',
};

function device(common: FamilyCommon, pid: number, part: string, layout: FlashLayout): McuDevice {
  return { ...common, pid, part, layout, flashBase: 0x0800_0000 };
}

// Page counts are the largest part under each PID; the flash-size register bounds the real one.
const DEVICES: readonly McuDevice[] = [
  device(F0, 0x440, 'STM32F030x8/F05x', pages(1 * KiB, 64)),
  device(F0, 0x444, 'STM32F03xx4/6', pages(1 * KiB, 32)),
  device(F0, 0x445, 'STM32F04x/F070x6', pages(1 * KiB, 32)),
  device(F0, 0x442, 'STM32F030xC/F09x', pages(2 * KiB, 128)),
  device(F0, 0x448, 'STM32F070xB/F071/F072', pages(2 * KiB, 64)),
  device(F1, 0x412, 'STM32F10x low density', pages(1 * KiB, 32)),
  device(F1, 0x410, 'STM32F10x medium density', pages(1 * KiB, 128)),
  device(F1, 0x420, 'STM32F10x medium density value line', pages(1 * KiB, 128)),
  device(F1, 0x414, 'STM32F10x high density', pages(2 * KiB, 256)),
  device(F1, 0x428, 'STM32F10x high density value line', pages(2 * KiB, 256)),
  device(F1, 0x418, 'STM32F105/F107', pages(2 * KiB, 128)),
  device(F1, 0x430, 'STM32F10x XL density', pages(2 * KiB, 512)),
  device(F4, 0x413, 'STM32F405/F407/F415/F417', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x419, 'STM32F42x/F43x', { kind: 'sectors', runs: [...f4Bank, ...f4Bank] }),
  device(F4, 0x434, 'STM32F469/F479', { kind: 'sectors', runs: [...f4Bank, ...f4Bank] }),
  device(F4, 0x423, 'STM32F401xB/C', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x433, 'STM32F401xD/E', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x431, 'STM32F411', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x441, 'STM32F412', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x421, 'STM32F446', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x458, 'STM32F410', { kind: 'sectors', runs: f4Bank }),
  device(F4, 0x463, 'STM32F413/F423', {
    kind: 'sectors',
    runs: [...f4Bank, { count: 4, size: 128 * KiB }],
  }),
  device(L4, 0x415, 'STM32L47x/L48x', pages(2 * KiB, 512)),
  device(L4, 0x435, 'STM32L43x/L44x', pages(2 * KiB, 128)),
  device(L4, 0x462, 'STM32L45x/L46x', pages(2 * KiB, 256)),
  device(L4, 0x464, 'STM32L412/L422', pages(2 * KiB, 64)),
  device(L4, 0x461, 'STM32L496/L4A6', pages(2 * KiB, 512)),
  device(L4, 0x471, 'STM32L4P5/L4Q5', pages(4 * KiB, 256)),
  device(G0, 0x466, 'STM32G03x/G04x', pages(2 * KiB, 32)),
  device(G0, 0x460, 'STM32G07x/G08x', pages(2 * KiB, 64)),
  device(G0, 0x456, 'STM32G05x/G061', pages(2 * KiB, 32)),
  device(G0, 0x467, 'STM32G0B0/G0B1/G0C1', pages(2 * KiB, 256)),
  // G4 page size is 2 KiB per stm32flash (dual-bank mode); single-bank is unconfirmed.
  device(G4, 0x468, 'STM32G431/G441', pages(2 * KiB, 64)),
  device(G4, 0x469, 'STM32G47x/G48x', pages(2 * KiB, 256)),
  device(G4, 0x479, 'STM32G491/G4A1', pages(2 * KiB, 256)),
  device(H7, 0x450, 'STM32H74x/H75x', { kind: 'sectors', runs: [{ count: 16, size: 128 * KiB }] }),
];

const BY_PID = new Map(DEVICES.map((d) => [d.pid, d]));

/** All known devices (for docs and tests). */
export function knownDevices(): readonly McuDevice[] {
  return DEVICES;
}

/** The table entry for a PID, or undefined. */
export function findDevice(pid: number): McuDevice | undefined {
  return BY_PID.get(pid);
}

/** The table entry for a PID; an unknown PID throws UnknownMcuError naming the port. */
export function deviceForPid(pid: number, port: string): McuDevice {
  const d = BY_PID.get(pid);
  if (!d) throw new UnknownMcuError(port, pid);
  return d;
}

/**
 * Every erase unit in order, optionally bounded by the flash size the chip reports
 * (units that do not fit entirely are dropped).
 */
export function flashPages(device: McuDevice, flashKiB?: number): FlashPage[] {
  const limit = flashKiB === undefined ? Infinity : device.flashBase + flashKiB * KiB;
  const out: FlashPage[] = [];
  let address = device.flashBase;
  let index = 0;
  for (const run of device.layout.runs) {
    for (let i = 0; i < run.count; i++) {
      if (address + run.size > limit) return out;
      out.push({ index, address, size: run.size });
      address += run.size;
      index++;
    }
  }
  return out;
}

/** The erase unit containing `address`, or undefined when it is outside main flash. */
export function pageContaining(
  device: McuDevice,
  address: number,
  flashKiB?: number,
): FlashPage | undefined {
  return flashPages(device, flashKiB).find(
    (p) => address >= p.address && address < p.address + p.size,
  );
}
