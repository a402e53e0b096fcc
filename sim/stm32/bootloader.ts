import { normalizeMcuUid } from '../../certs/hardware-ids.ts';
import {
  BootloaderFaultBook,
  type BootloaderFault,
  type BootloaderStep,
} from './bootloader-faults.ts';
import { familyModel, type FamilyModel, type FlashSector, type McuFamily } from './families.ts';
import { FlashStore, type RdpLevel } from './flash-store.ts';
import { MemoryMap } from './memory-map.ts';
import { PacedPort, SimPortClosedError, pause } from './paced-port.ts';

export const ACK = 0x79;
export const NACK = 0x1f;
const SYNC = 0x7f;

/** Modelled time for a chip reset or an option-byte change, ms at latencyScale 1. */
const RESET_MS = 10;
const OPTION_BYTE_MS = 30;

export interface BootloaderSimOptions {
  /** The simulator's end of the PTY pair. */
  devicePath: string;
  family: McuFamily;
  /** 24 hex digits, the 12 UID bytes in address order. */
  uid: string;
  /** Wire pacing; the PTY itself runs 8N1 (parity cannot be carried, see sim/README.md). */
  baud: number;
  /** Raw flash image; metadata goes to `<stateFile>.json`. Reloaded if present. */
  stateFile: string;
  faults?: readonly BootloaderFault[];
  seed?: number;
  /** Multiplies every modelled delay (wire, erase, program); 0 = as fast as possible. */
  latencyScale?: number;
  /**
   * Copy a quirk reported on real F4 (NUCLEO-F401RE) and L0 bootloaders: in the
   * device-signature area after the ROM (OTP, UID, flash size) only whole 256-byte reads
   * are answered; shorter ones are NACKed at the length step. Off by default, since
   * stm32flash's `-S <uid>:12` must work; drivers should read the 256-byte block anyway.
   */
  smallSignatureReadQuirk?: boolean;
  log?: (line: string) => void;
}

/**
 * Where the simulated chip is: waiting for the 0x7F autobaud byte, serving commands,
 * running the application after Go (silent until reset), or gone.
 */
export type BootloaderMode =
  'awaiting-sync' | 'bootloader' | 'application' | 'unplugged' | 'stopped';

export interface BootloaderStats {
  bytesIn: number;
  bytesOut: number;
  syncs: number;
  /** Valid command pairs received. */
  commands: number;
  acks: number;
  nacks: number;
  resets: number;
  byStep: Partial<Record<BootloaderStep, number>>;
  /** Time the bytes so far occupy on the wire at latencyScale 1 (10 bits per byte). */
  wireMs: number;
  /** Modelled erase + program + option-byte time at latencyScale 1. */
  flashBusyMs: number;
  /** wireMs + flashBusyMs: a lower bound for any host doing the same exchange. */
  modelledMs: number;
  /** Faults that fired, in order. */
  faultsFired: readonly string[];
}

const STEP_OF_COMMAND: ReadonlyMap<number, BootloaderStep> = new Map([
  [0x00, 'get'],
  [0x01, 'get-version'],
  [0x02, 'get-id'],
  [0x11, 'read'],
  [0x21, 'go'],
  [0x31, 'write'],
  [0x43, 'erase'],
  [0x44, 'extended-erase'],
  [0x63, 'write-protect'],
  [0x73, 'write-unprotect'],
  [0x82, 'readout-protect'],
  [0x92, 'readout-unprotect'],
]);

function xorAll(bytes: Iterable<number>, init = 0): number {
  let x = init;
  for (const b of bytes) x ^= b;
  return x;
}

function hex(n: number, width = 8): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * An STM32 system-memory bootloader (AN3155 over USART) on one PTY: autobaud sync, every
 * command of the v3.1 (or, for F1, v2.2) set, read-out and write protection, flash with
 * sector/page erase rules persisted to a state file, and UART pacing at the set baud.
 */
export class BootloaderSimulator {
  readonly model: FamilyModel;
  readonly uid: string;
  private readonly memory: MemoryMap;
  private readonly faults: BootloaderFaultBook;
  private readonly scale: number;
  private modeValue: BootloaderMode = 'awaiting-sync';
  private session = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private readonly counters = { syncs: 0, commands: 0, acks: 0, nacks: 0, resets: 0 };
  private readonly byStep: Partial<Record<BootloaderStep, number>> = {};
  private flashBusyMs = 0;

  private constructor(
    private readonly opts: BootloaderSimOptions,
    private readonly port: PacedPort,
    store: FlashStore,
  ) {
    this.model = familyModel(opts.family);
    this.uid = normalizeMcuUid(opts.uid);
    this.memory = new MemoryMap(this.model, store, Buffer.from(this.uid, 'hex'));
    this.faults = new BootloaderFaultBook(opts.faults ?? [], opts.seed ?? 1);
    this.scale = opts.latencyScale ?? 1;
  }

  /** Opens the device end of the PTY, loads or creates the flash state and starts serving. */
  static async start(opts: BootloaderSimOptions): Promise<BootloaderSimulator> {
    const model = familyModel(opts.family);
    const store = FlashStore.open(opts.stateFile, model, normalizeMcuUid(opts.uid));
    let port: PacedPort;
    try {
      port = await PacedPort.open(opts.devicePath, opts.baud, opts.latencyScale ?? 1);
    } catch (e) {
      store.close();
      throw e;
    }
    const sim = new BootloaderSimulator(opts, port, store);
    sim.loop = sim.run();
    return sim;
  }

  get mode(): BootloaderMode {
    return this.modeValue;
  }

  get family(): McuFamily {
    return this.model.family;
  }

  get rdpLevel(): RdpLevel {
    return this.memory.flash.meta.rdpLevel;
  }

  get writeProtectedSectors(): readonly number[] {
    return this.memory.flash.meta.writeProtected;
  }

  get stateFile(): string {
    return this.opts.stateFile;
  }

  /** Main-flash bytes as stored (what a debugger would see with RDP 0); for tests. */
  readFlash(address: number, length: number): Uint8Array {
    const off = address - this.model.flashBase;
    if (off < 0 || off + length > this.model.flashSize)
      throw new RangeError(`0x${hex(address)}+${length} is outside main flash`);
    return this.memory.flash.read(off, length);
  }

  /** Any mapped bytes (flash, SRAM, system memory, option bytes), ignoring RDP; for tests. */
  peek(address: number, length: number): Uint8Array | undefined {
    return this.memory.read(address, length);
  }

  stats(): BootloaderStats {
    const wireMs = ((this.port.bytesIn + this.port.bytesOut) * 10 * 1000) / this.opts.baud;
    return {
      bytesIn: this.port.bytesIn,
      bytesOut: this.port.bytesOut,
      ...this.counters,
      byStep: { ...this.byStep },
      wireMs,
      flashBusyMs: this.flashBusyMs,
      modelledMs: wireMs + this.flashBusyMs,
      faultsFired: [...this.faults.fired],
    };
  }

  /**
   * NRST pulse with BOOT0 held high (what a fixture's reset line does): the chip restarts
   * into the bootloader and waits for a new 0x7F. SRAM keeps its contents.
   */
  reset(): void {
    if (this.modeValue === 'stopped' || this.modeValue === 'unplugged') return;
    this.enterReset();
    this.session.abort(new Error('reset'));
  }

  /** Power off and on with BOOT0 high: like reset(), and SRAM is lost. */
  powerCycle(): void {
    this.memory.clearSram();
    this.reset();
  }

  /** Stops serving, closes the port and the state file. Idempotent. */
  async stop(): Promise<void> {
    if (this.modeValue === 'stopped') return;
    this.modeValue = 'stopped';
    this.session.abort(new Error('stopped'));
    await this.port.close();
    await this.loop;
    this.memory.flash.close();
  }

  private isStopped(): boolean {
    return this.modeValue === 'stopped';
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private enterReset(): void {
    this.counters.resets++;
    this.modeValue = 'awaiting-sync';
    this.port.discardInput();
  }

  private async run(): Promise<void> {
    while (this.modeValue !== 'stopped' && this.modeValue !== 'unplugged') {
      this.session = new AbortController();
      const signal = this.session.signal;
      try {
        for (;;) await this.step(signal);
      } catch (e) {
        if (this.isStopped()) break;
        if (e instanceof SimPortClosedError) {
          this.modeValue = 'unplugged';
          this.log('line dropped; bootloader simulator idle');
          break;
        }
        if (!signal.aborted) this.log(`error: ${(e as Error).message}`);
      }
    }
  }

  private async step(signal: AbortSignal): Promise<void> {
    switch (this.modeValue) {
      case 'awaiting-sync': {
        const b = await this.port.readByte(signal);
        // Before autobaud the USART is not locked: anything but 0x7F is line noise.
        if (b !== SYNC) return;
        this.counters.syncs++;
        this.modeValue = 'bootloader';
        await this.finalAck('sync', signal);
        return;
      }
      case 'application':
        // The user program owns the USART now; the bootloader hears nothing.
        await this.port.readByte(signal);
        return;
      case 'bootloader':
        await this.command(signal);
        return;
      default:
        throw new Error(`bootloader loop in mode ${this.modeValue}`);
    }
  }

  private async send(bytes: number[] | Uint8Array, signal: AbortSignal): Promise<void> {
    await this.port.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), signal);
  }

  private async ack(signal: AbortSignal): Promise<void> {
    this.counters.acks++;
    await this.send([ACK], signal);
  }

  private async finalAck(step: BootloaderStep, signal: AbortSignal): Promise<void> {
    this.counters.acks++;
    await this.send([this.faults.finalAck(step, ACK)], signal);
  }

  private async nack(signal: AbortSignal, why: string): Promise<void> {
    this.counters.nacks++;
    this.log(`NACK: ${why}`);
    await this.send([NACK], signal);
  }

  /** Models flash or option-byte work: scaled wall time, unscaled bookkeeping. */
  private async busy(ms: number, signal: AbortSignal): Promise<void> {
    this.flashBusyMs += ms;
    await pause(ms * this.scale, signal);
    if (signal.aborted) throw signal.reason;
  }

  private async systemReset(signal: AbortSignal): Promise<void> {
    this.enterReset();
    await pause(RESET_MS * this.scale, signal);
    // Whatever arrived while the chip was rebooting never reached the bootloader.
    this.port.discardInput();
  }

  /** 4 address bytes MSB first + XOR checksum; undefined when the checksum is wrong. */
  private async readAddress(signal: AbortSignal): Promise<number | undefined> {
    const b = await this.port.readExact(5, signal);
    if (xorAll(b.subarray(0, 4)) !== b[4]) return undefined;
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  private async command(signal: AbortSignal): Promise<void> {
    const [cmd, complement] = await this.port.readExact(2, signal);
    if ((cmd ^ complement) !== 0xff)
      return this.nack(signal, `bad command pair ${hex(cmd, 2)} ${hex(complement, 2)}`);
    const step = STEP_OF_COMMAND.get(cmd);
    if (step === undefined || !this.model.commands.includes(cmd))
      return this.nack(signal, `command 0x${hex(cmd, 2)} not supported by this bootloader`);
    this.counters.commands++;
    this.byStep[step] = (this.byStep[step] ?? 0) + 1;
    if (this.faults.commandStalls(step)) {
      this.log(`fault: stall on ${step}`);
      return;
    }
    const protectedNow = this.rdpLevel === 1;
    switch (step) {
      case 'get':
        await this.ack(signal);
        await this.send(
          [this.model.commands.length, this.model.bootloaderVersion, ...this.model.commands],
          signal,
        );
        return this.finalAck(step, signal);
      case 'get-version':
        await this.ack(signal);
        // The two option bytes are 0x00 for compatibility (stm32flash prints them).
        await this.send([this.model.bootloaderVersion, 0x00, 0x00], signal);
        return this.finalAck(step, signal);
      case 'get-id':
        await this.ack(signal);
        await this.send([0x01, this.model.pid >> 8, this.model.pid & 0xff], signal);
        return this.finalAck(step, signal);
      case 'readout-unprotect':
        return this.readoutUnprotect(signal);
      default:
        // Read-out protection: every other command is refused right after its command byte.
        if (protectedNow) return this.nack(signal, `${step} refused under RDP level 1`);
    }
    switch (step) {
      case 'read':
        return this.readMemory(signal);
      case 'write':
        return this.writeMemory(signal);
      case 'go':
        return this.go(signal);
      case 'erase':
        return this.erase(signal);
      case 'extended-erase':
        return this.extendedErase(signal);
      case 'write-protect':
        return this.writeProtect(signal);
      case 'write-unprotect':
        return this.writeUnprotect(signal);
      case 'readout-protect':
        return this.readoutProtect(signal);
    }
  }

  private async readMemory(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const address = await this.readAddress(signal);
    if (address === undefined) return this.nack(signal, 'read: address checksum');
    if (!this.memory.regionOf(address))
      return this.nack(signal, `read: 0x${hex(address)} is not mapped`);
    await this.ack(signal);
    const [n, nc] = await this.port.readExact(2, signal);
    if ((n ^ nc) !== 0xff) return this.nack(signal, 'read: length complement');
    if (
      this.opts.smallSignatureReadQuirk &&
      n !== 0xff &&
      address >= this.model.romEnd &&
      address < this.model.systemMemory.end
    )
      return this.nack(signal, `read: quirk — ${n + 1}-byte read in the signature area`);
    const data = this.memory.read(address, n + 1);
    if (!data) return this.nack(signal, `read: 0x${hex(address)}+${n + 1} leaves its region`);
    this.log(`READ ${hex(address)} len ${n + 1}`);
    await this.finalAck('read', signal);
    const t = this.faults.readTamper(data.length);
    if (t.corruptOffset !== undefined && t.corruptMask !== undefined)
      data[t.corruptOffset] ^= t.corruptMask;
    const out =
      t.dropOffset === undefined
        ? data
        : Uint8Array.from([...data.subarray(0, t.dropOffset), ...data.subarray(t.dropOffset + 1)]);
    await this.send(out, signal);
  }

  private async writeMemory(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const address = await this.readAddress(signal);
    if (address === undefined) return this.nack(signal, 'write: address checksum');
    const region = this.memory.regionOf(address)?.kind;
    if (address % 4 !== 0 || (region !== 'flash' && region !== 'sram'))
      return this.nack(
        signal,
        `write: 0x${hex(address)} is not a 4-byte aligned flash/SRAM address`,
      );
    await this.ack(signal);
    const n = await this.port.readByte(signal);
    const data = await this.port.readExact(n + 1, signal);
    const checksum = await this.port.readByte(signal);
    if (xorAll(data, n) !== checksum) return this.nack(signal, 'write: data checksum');
    const verdict = this.memory.checkWrite(address, data);
    if (verdict !== 'flash' && verdict !== 'sram')
      return this.nack(signal, `write: 0x${hex(address)}+${data.length} ${verdict}`);
    if (this.faults.writeRefused()) return this.nack(signal, 'fault: nack-write');
    if (verdict === 'flash')
      await this.busy((data.length / 4) * (this.model.programUsPer4Bytes / 1000), signal);
    this.memory.write(address, data);
    this.log(`WRITE ${hex(address)} len ${data.length}`);
    await this.finalAck('write', signal);
  }

  private async go(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const address = await this.readAddress(signal);
    if (address === undefined) return this.nack(signal, 'go: address checksum');
    const target = this.memory.isExecutable(address);
    if (!target) return this.nack(signal, `go: 0x${hex(address)} is not flash or SRAM`);
    await this.finalAck('go', signal);
    this.log(`GO ${hex(address)} (${target})`);
    if (target === 'sram') {
      // Code uploaded to SRAM is taken to be stm32flash's reset stub (-R): the chip resets
      // and, BOOT0 being high on the fixture, comes back in the bootloader.
      await this.systemReset(signal);
    } else {
      this.modeValue = 'application';
    }
  }

  private async eraseSectors(
    sectors: readonly FlashSector[],
    mass: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const ms = mass
      ? this.model.massEraseMs
      : sectors.reduce((t, s) => t + this.model.eraseMs(s.size), 0);
    await this.busy(ms * this.faults.eraseFactor(), signal);
    for (const s of sectors) this.memory.eraseSector(s);
  }

  /** Sectors by number, or a reason to refuse the list. */
  private pickSectors(numbers: readonly number[]): FlashSector[] | string {
    const wp = new Set(this.writeProtectedSectors);
    const out: FlashSector[] = [];
    for (const n of numbers) {
      const s = this.model.sectors[n];
      if (!s) return `page ${n} does not exist`;
      if (wp.has(n)) return `page ${n} is write-protected`;
      out.push(s);
    }
    return out;
  }

  private async erase(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const n = await this.port.readByte(signal);
    let sectors: FlashSector[] | string;
    let mass = false;
    if (n === 0xff) {
      const c = await this.port.readByte(signal);
      if (c !== 0x00) return this.nack(signal, 'erase: global erase checksum');
      sectors = this.pickSectors(this.model.sectors.map((s) => s.index));
      mass = true;
    } else {
      const pages = await this.port.readExact(n + 1, signal);
      const c = await this.port.readByte(signal);
      if (xorAll(pages, n) !== c) return this.nack(signal, 'erase: checksum');
      sectors = this.pickSectors([...pages]);
    }
    if (typeof sectors === 'string') return this.nack(signal, `erase: ${sectors}`);
    await this.eraseSectors(sectors, mass, signal);
    this.log(`ERASE ${mass ? 'global' : sectors.map((s) => s.index).join(',')}`);
    await this.finalAck('erase', signal);
  }

  private async extendedErase(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const head = await this.port.readExact(2, signal);
    const n = (head[0] << 8) | head[1];
    let sectors: FlashSector[] | string;
    let mass = false;
    if (n >= 0xfff0) {
      const c = await this.port.readByte(signal);
      if (c !== (head[0] ^ head[1]))
        return this.nack(signal, 'extended erase: special code checksum');
      const bank = n === 0xffff ? 'all' : n === 0xfffe ? 0 : n === 0xfffd ? 1 : undefined;
      if (bank === undefined)
        return this.nack(signal, `extended erase: reserved code 0x${hex(n, 4)}`);
      if (bank === 'all') {
        sectors = this.pickSectors(this.model.sectors.map((s) => s.index));
        mass = true;
      } else {
        const range = this.model.banks[bank];
        if (!range) return this.nack(signal, `extended erase: no bank ${bank + 1} on this part`);
        sectors = this.pickSectors(
          this.model.sectors
            .filter((s) => s.index >= range[0] && s.index <= range[1])
            .map((s) => s.index),
        );
        mass = true;
      }
    } else {
      const raw = await this.port.readExact(2 * (n + 1), signal);
      const c = await this.port.readByte(signal);
      if (xorAll(raw, head[0] ^ head[1]) !== c)
        return this.nack(signal, 'extended erase: checksum');
      const numbers: number[] = [];
      for (let i = 0; i < raw.length; i += 2) numbers.push((raw[i] << 8) | raw[i + 1]);
      sectors = this.pickSectors(numbers);
    }
    if (typeof sectors === 'string') return this.nack(signal, `extended erase: ${sectors}`);
    await this.eraseSectors(sectors, mass, signal);
    this.log(`EXT ERASE ${mass ? 'mass' : sectors.map((s) => s.index).join(',')}`);
    await this.finalAck('extended-erase', signal);
  }

  private async writeProtect(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    const n = await this.port.readByte(signal);
    const list = await this.port.readExact(n + 1, signal);
    const c = await this.port.readByte(signal);
    if (xorAll(list, n) !== c) return this.nack(signal, 'write protect: checksum');
    if ([...list].some((s) => !this.model.sectors[s]))
      return this.nack(signal, 'write protect: no such sector');
    await this.busy(OPTION_BYTE_MS, signal);
    this.memory.flash.setWriteProtected([...this.writeProtectedSectors, ...list]);
    this.log(`WRITE PROTECT ${[...list].join(',')}`);
    await this.finalAck('write-protect', signal);
    await this.systemReset(signal);
  }

  private async writeUnprotect(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    await this.busy(OPTION_BYTE_MS, signal);
    this.memory.flash.setWriteProtected([]);
    this.log('WRITE UNPROTECT');
    await this.finalAck('write-unprotect', signal);
    await this.systemReset(signal);
  }

  private async readoutProtect(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    await this.busy(OPTION_BYTE_MS, signal);
    this.memory.flash.setRdpLevel(1);
    this.log('READOUT PROTECT: RDP level 1');
    await this.finalAck('readout-protect', signal);
    await this.systemReset(signal);
  }

  private async readoutUnprotect(signal: AbortSignal): Promise<void> {
    await this.ack(signal);
    // Leaving level 1 mass-erases main flash (write protection does not stop it).
    await this.busy(this.model.massEraseMs * this.faults.eraseFactor() + OPTION_BYTE_MS, signal);
    for (const s of this.model.sectors) this.memory.eraseSector(s);
    this.memory.flash.setRdpLevel(0);
    this.log('READOUT UNPROTECT: flash mass-erased, RDP level 0');
    await this.finalAck('readout-unprotect', signal);
    await this.systemReset(signal);
  }
}
