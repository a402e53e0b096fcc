import { sectorAt, type FamilyModel, type FlashSector } from './families.ts';
import type { FlashStore } from './flash-store.ts';
import { optionBytesImage, systemMemoryImage } from './system-memory.ts';

export type RegionKind = 'flash' | 'sram' | 'system' | 'option-bytes';

/** Why a Write Memory block was refused (logged; the host only ever sees NACK). */
export type WriteRefusal =
  'not-writable' | 'crosses-region' | 'write-protected' | 'not-erased' | 'unaligned';

/**
 * The address space the bootloader can reach: main flash (persisted), SRAM (volatile),
 * system memory (ROM + UID + flash size) and option bytes (read-only here). One access
 * never spans two regions: the ROM refuses that too.
 */
export class MemoryMap {
  private sram: Uint8Array;
  private readonly system: Uint8Array;

  constructor(
    readonly model: FamilyModel,
    readonly flash: FlashStore,
    uid: Uint8Array,
  ) {
    this.sram = new Uint8Array(model.sramSize);
    this.system = systemMemoryImage(model, uid);
  }

  regionOf(address: number): { kind: RegionKind; start: number; end: number } | undefined {
    const m = this.model;
    const regions: [RegionKind, number, number][] = [
      ['flash', m.flashBase, m.flashBase + m.flashSize],
      ['sram', m.sramBase, m.sramBase + m.sramSize],
      ['system', m.systemMemory.start, m.systemMemory.end],
      ['option-bytes', m.optionBytes.start, m.optionBytes.end],
    ];
    for (const [kind, start, end] of regions)
      if (address >= start && address < end) return { kind, start, end };
    return undefined;
  }

  /** Bytes at [address, address+length) or undefined if that is not one readable region. */
  read(address: number, length: number): Uint8Array | undefined {
    const r = this.regionOf(address);
    if (!r || address + length > r.end) return undefined;
    const off = address - r.start;
    switch (r.kind) {
      case 'flash':
        return this.flash.read(off, length);
      case 'sram':
        return this.sram.slice(off, off + length);
      case 'system':
        return this.system.slice(off, off + length);
      case 'option-bytes':
        return optionBytesImage(
          this.model,
          this.flash.meta.rdpLevel,
          this.flash.meta.writeProtected,
        ).slice(off, off + length);
    }
  }

  /** Sectors touched by [address, address+length) in main flash. */
  sectorsTouched(address: number, length: number): FlashSector[] {
    const out: FlashSector[] = [];
    for (const s of this.model.sectors) {
      const a = this.model.flashBase + s.offset;
      if (a < address + length && a + s.size > address) out.push(s);
    }
    return out;
  }

  /** Checks a Write Memory block without changing anything. */
  checkWrite(address: number, data: Uint8Array): WriteRefusal | 'flash' | 'sram' {
    if (address % 4 !== 0 || data.length % 4 !== 0) return 'unaligned';
    const r = this.regionOf(address);
    if (!r || (r.kind !== 'flash' && r.kind !== 'sram')) return 'not-writable';
    if (address + data.length > r.end) return 'crosses-region';
    if (r.kind === 'sram') return 'sram';
    const wp = new Set(this.flash.meta.writeProtected);
    if (this.sectorsTouched(address, data.length).some((s) => wp.has(s.index)))
      return 'write-protected';
    if (!this.flash.isErased(address - this.model.flashBase, data.length)) return 'not-erased';
    return 'flash';
  }

  /** Stores a block already accepted by checkWrite. */
  write(address: number, data: Uint8Array): void {
    const r = this.regionOf(address);
    if (r?.kind === 'sram') this.sram.set(data, address - r.start);
    else this.flash.program(address - this.model.flashBase, data);
  }

  eraseSector(s: FlashSector): void {
    this.flash.erase(s.offset, s.size);
  }

  /** Whether an address is a place Go may jump to (flash or SRAM). */
  isExecutable(address: number): 'flash' | 'sram' | undefined {
    const k = this.regionOf(address)?.kind;
    return k === 'flash' || k === 'sram' ? k : undefined;
  }

  sectorAt(address: number): FlashSector | undefined {
    return sectorAt(this.model, address);
  }

  /** Power loss: SRAM forgets. */
  clearSram(): void {
    this.sram = new Uint8Array(this.model.sramSize);
  }
}
