/**
 * The AN3155 commands that touch memory or option bytes, one function each. Each runs once
 * the simulator has checked the command pair and read-out protection, and sends every ACK
 * and NACK of its exchange itself. A NACK's reason goes to the log; the host sees 0x1F.
 */
import type { BootloaderFaultBook, BootloaderStep } from './bootloader-faults.ts';
import type { FamilyModel, FlashSector } from './families.ts';
import type { MemoryMap } from './memory-map.ts';
import type { PacedPort } from './paced-port.ts';

/** Modelled time for an option-byte change, ms at latencyScale 1. */
const OPTION_BYTE_MS = 30;

/** What the command handlers need from the simulator that runs them. */
export interface CommandContext {
  readonly model: FamilyModel;
  readonly memory: MemoryMap;
  readonly faults: BootloaderFaultBook;
  readonly port: PacedPort;
  readonly smallSignatureReadQuirk: boolean;
  /** An intermediate ACK. */
  ack(signal: AbortSignal): Promise<void>;
  /** The command's last ACK (the one corrupt-ack faults hit). */
  finalAck(step: BootloaderStep, signal: AbortSignal): Promise<void>;
  nack(signal: AbortSignal, why: string): Promise<void>;
  send(bytes: number[] | Uint8Array, signal: AbortSignal): Promise<void>;
  /** Flash or option-byte work: waits the scaled time, books the unscaled one. */
  busy(ms: number, signal: AbortSignal): Promise<void>;
  /** Chip reset after an option-byte change (BOOT0 high: back to awaiting sync). */
  systemReset(signal: AbortSignal): Promise<void>;
  /** Go to flash: the application owns the UART from now on. */
  enterApplication(): void;
  log(line: string): void;
  /** Bytes of this Write Memory's data block to take before an unplug fault drops the line. */
  takeUnplugAfterBytes(): number | undefined;
  unplug(step: BootloaderStep): Promise<never>;
}

export function xorAll(bytes: Iterable<number>, init = 0): number {
  let x = init;
  for (const b of bytes) x ^= b;
  return x;
}

export function hex(n: number, width = 8): string {
  return n.toString(16).padStart(width, '0');
}

/** 4 address bytes MSB first + XOR checksum; undefined when the checksum is wrong. */
async function readAddress(ctx: CommandContext, signal: AbortSignal): Promise<number | undefined> {
  const b = await ctx.port.readExact(5, signal);
  if (xorAll(b.subarray(0, 4)) !== b[4]) return undefined;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** Read Memory (0x11): address → ACK, (len−1) and its complement → ACK, data. */
export async function readMemory(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const address = await readAddress(ctx, signal);
  if (address === undefined) return ctx.nack(signal, 'read: address checksum');
  if (!ctx.memory.regionOf(address))
    return ctx.nack(signal, `read: 0x${hex(address)} is not mapped`);
  await ctx.ack(signal);
  const [n, nc] = await ctx.port.readExact(2, signal);
  if ((n ^ nc) !== 0xff) return ctx.nack(signal, 'read: length complement');
  if (
    ctx.smallSignatureReadQuirk &&
    n !== 0xff &&
    address >= ctx.model.romEnd &&
    address < ctx.model.systemMemory.end
  )
    return ctx.nack(signal, `read: quirk — ${n + 1}-byte read in the signature area`);
  const data = ctx.memory.read(address, n + 1);
  if (!data) return ctx.nack(signal, `read: 0x${hex(address)}+${n + 1} leaves its region`);
  ctx.log(`READ ${hex(address)} len ${n + 1}`);
  await ctx.finalAck('read', signal);
  const t = ctx.faults.readTamper(data.length);
  if (t.corruptOffset !== undefined && t.corruptMask !== undefined)
    data[t.corruptOffset] ^= t.corruptMask;
  const out =
    t.dropOffset === undefined
      ? data
      : Uint8Array.from([...data.subarray(0, t.dropOffset), ...data.subarray(t.dropOffset + 1)]);
  await ctx.send(out, signal);
}

/** Write Memory (0x31): address → ACK, (len−1) + data + XOR → ACK once stored. */
export async function writeMemory(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const address = await readAddress(ctx, signal);
  if (address === undefined) return ctx.nack(signal, 'write: address checksum');
  const region = ctx.memory.regionOf(address)?.kind;
  if (address % 4 !== 0 || (region !== 'flash' && region !== 'sram'))
    return ctx.nack(signal, `write: 0x${hex(address)} is not a 4-byte aligned flash/SRAM address`);
  await ctx.ack(signal);
  const n = await ctx.port.readByte(signal);
  const unplugAfter = ctx.takeUnplugAfterBytes();
  if (unplugAfter !== undefined) {
    await ctx.port.readExact(Math.min(unplugAfter, n + 1), signal);
    return ctx.unplug('write');
  }
  const data = await ctx.port.readExact(n + 1, signal);
  const checksum = await ctx.port.readByte(signal);
  if (xorAll(data, n) !== checksum) return ctx.nack(signal, 'write: data checksum');
  const verdict = ctx.memory.checkWrite(address, data);
  if (verdict !== 'flash' && verdict !== 'sram')
    return ctx.nack(signal, `write: 0x${hex(address)}+${data.length} ${verdict}`);
  if (ctx.faults.writeRefused()) return ctx.nack(signal, 'fault: nack-write');
  if (verdict === 'flash')
    await ctx.busy((data.length / 4) * (ctx.model.programUsPer4Bytes / 1000), signal);
  ctx.memory.write(address, data);
  ctx.log(`WRITE ${hex(address)} len ${data.length}`);
  await ctx.finalAck('write', signal);
}

/** Go (0x21): address → ACK, then the chip leaves the bootloader. */
export async function go(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const address = await readAddress(ctx, signal);
  if (address === undefined) return ctx.nack(signal, 'go: address checksum');
  const target = ctx.memory.isExecutable(address);
  if (!target) return ctx.nack(signal, `go: 0x${hex(address)} is not flash or SRAM`);
  await ctx.finalAck('go', signal);
  ctx.log(`GO ${hex(address)} (${target})`);
  if (target === 'sram') {
    // Code uploaded to SRAM is taken to be stm32flash's reset stub (-R): the chip resets
    // and, BOOT0 being high on the fixture, comes back in the bootloader.
    await ctx.systemReset(signal);
  } else {
    ctx.enterApplication();
  }
}

async function eraseSectors(
  ctx: CommandContext,
  sectors: readonly FlashSector[],
  mass: boolean,
  signal: AbortSignal,
): Promise<void> {
  const ms = mass
    ? ctx.model.massEraseMs
    : sectors.reduce((t, s) => t + ctx.model.eraseMs(s.size), 0);
  await ctx.busy(ms * ctx.faults.eraseFactor(), signal);
  for (const s of sectors) ctx.memory.eraseSector(s);
}

/** Sectors by number, or a reason to refuse the list. */
function pickSectors(ctx: CommandContext, numbers: readonly number[]): FlashSector[] | string {
  const wp = new Set(ctx.memory.flash.meta.writeProtected);
  const out: FlashSector[] = [];
  for (const n of numbers) {
    const s = ctx.model.sectors[n];
    if (!s) return `page ${n} does not exist`;
    if (wp.has(n)) return `page ${n} is write-protected`;
    out.push(s);
  }
  return out;
}

/** Erase (0x43, bootloader v2.x): `FF 00` global, or (n−1), n page bytes, XOR. */
export async function erase(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const n = await ctx.port.readByte(signal);
  let sectors: FlashSector[] | string;
  let mass = false;
  if (n === 0xff) {
    const c = await ctx.port.readByte(signal);
    if (c !== 0x00) return ctx.nack(signal, 'erase: global erase checksum');
    sectors = pickSectors(
      ctx,
      ctx.model.sectors.map((s) => s.index),
    );
    mass = true;
  } else {
    const pages = await ctx.port.readExact(n + 1, signal);
    const c = await ctx.port.readByte(signal);
    if (xorAll(pages, n) !== c) return ctx.nack(signal, 'erase: checksum');
    sectors = pickSectors(ctx, [...pages]);
  }
  if (typeof sectors === 'string') return ctx.nack(signal, `erase: ${sectors}`);
  await eraseSectors(ctx, sectors, mass, signal);
  ctx.log(`ERASE ${mass ? 'global' : sectors.map((s) => s.index).join(',')}`);
  await ctx.finalAck('erase', signal);
}

/** Extended Erase (0x44): 2-byte (n−1), n 2-byte pages, XOR; or 0xFFFF/0xFFFE/0xFFFD. */
export async function extendedErase(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const head = await ctx.port.readExact(2, signal);
  const n = (head[0] << 8) | head[1];
  let sectors: FlashSector[] | string;
  let mass = false;
  if (n >= 0xfff0) {
    const c = await ctx.port.readByte(signal);
    if (c !== (head[0] ^ head[1])) return ctx.nack(signal, 'extended erase: special code checksum');
    const bank = n === 0xffff ? 'all' : n === 0xfffe ? 0 : n === 0xfffd ? 1 : undefined;
    if (bank === undefined) return ctx.nack(signal, `extended erase: reserved code 0x${hex(n, 4)}`);
    if (bank === 'all') {
      sectors = pickSectors(
        ctx,
        ctx.model.sectors.map((s) => s.index),
      );
      mass = true;
    } else {
      const range = ctx.model.banks[bank];
      if (!range) return ctx.nack(signal, `extended erase: no bank ${bank + 1} on this part`);
      sectors = pickSectors(
        ctx,
        ctx.model.sectors
          .filter((s) => s.index >= range[0] && s.index <= range[1])
          .map((s) => s.index),
      );
      mass = true;
    }
  } else {
    const raw = await ctx.port.readExact(2 * (n + 1), signal);
    const c = await ctx.port.readByte(signal);
    if (xorAll(raw, head[0] ^ head[1]) !== c) return ctx.nack(signal, 'extended erase: checksum');
    const numbers: number[] = [];
    for (let i = 0; i < raw.length; i += 2) numbers.push((raw[i] << 8) | raw[i + 1]);
    sectors = pickSectors(ctx, numbers);
  }
  if (typeof sectors === 'string') return ctx.nack(signal, `extended erase: ${sectors}`);
  await eraseSectors(ctx, sectors, mass, signal);
  ctx.log(`EXT ERASE ${mass ? 'mass' : sectors.map((s) => s.index).join(',')}`);
  await ctx.finalAck('extended-erase', signal);
}

/** Write Protect (0x63): (n−1), n sector numbers, XOR → ACK, then reset. */
export async function writeProtect(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  const n = await ctx.port.readByte(signal);
  const list = await ctx.port.readExact(n + 1, signal);
  const c = await ctx.port.readByte(signal);
  if (xorAll(list, n) !== c) return ctx.nack(signal, 'write protect: checksum');
  if ([...list].some((s) => !ctx.model.sectors[s]))
    return ctx.nack(signal, 'write protect: no such sector');
  await ctx.busy(OPTION_BYTE_MS, signal);
  ctx.memory.flash.setWriteProtected([...ctx.memory.flash.meta.writeProtected, ...list]);
  ctx.log(`WRITE PROTECT ${[...list].join(',')}`);
  await ctx.finalAck('write-protect', signal);
  await ctx.systemReset(signal);
}

/** Write Unprotect (0x73): ACK, ACK, reset. */
export async function writeUnprotect(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  await ctx.busy(OPTION_BYTE_MS, signal);
  ctx.memory.flash.setWriteProtected([]);
  ctx.log('WRITE UNPROTECT');
  await ctx.finalAck('write-unprotect', signal);
  await ctx.systemReset(signal);
}

/** Readout Protect (0x82): ACK, ACK, RDP level 1, reset. */
export async function readoutProtect(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  await ctx.busy(OPTION_BYTE_MS, signal);
  ctx.memory.flash.setRdpLevel(1);
  ctx.log('READOUT PROTECT: RDP level 1');
  await ctx.finalAck('readout-protect', signal);
  await ctx.systemReset(signal);
}

/** Readout Unprotect (0x92): ACK, mass erase, RDP 0, ACK, reset. */
export async function readoutUnprotect(ctx: CommandContext, signal: AbortSignal): Promise<void> {
  await ctx.ack(signal);
  // Leaving level 1 mass-erases main flash (write protection does not stop it).
  await ctx.busy(ctx.model.massEraseMs * ctx.faults.eraseFactor() + OPTION_BYTE_MS, signal);
  for (const s of ctx.model.sectors) ctx.memory.eraseSector(s);
  ctx.memory.flash.setRdpLevel(0);
  ctx.log('READOUT UNPROTECT: flash mass-erased, RDP level 0');
  await ctx.finalAck('readout-unprotect', signal);
  await ctx.systemReset(signal);
}
