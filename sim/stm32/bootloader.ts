import { normalizeMcuUid } from '../../certs/hardware-ids.ts';
import {
  BootloaderFaultBook,
  type BootloaderFault,
  type BootloaderStep,
} from './bootloader-faults.ts';
import {
  erase,
  extendedErase,
  go,
  hex,
  readMemory,
  readoutProtect,
  readoutUnprotect,
  writeMemory,
  writeProtect,
  writeUnprotect,
  type CommandContext,
} from './commands.ts';
import { familyModel, type FamilyModel, type McuFamily } from './families.ts';
import { FlashStore, type RdpLevel } from './flash-store.ts';
import { MemoryMap } from './memory-map.ts';
import { PacedPort, SimPortClosedError, pause } from './paced-port.ts';

export const ACK = 0x79;
export const NACK = 0x1f;
const SYNC = 0x7f;

/** Modelled time for a chip reset, ms at latencyScale 1. */
const RESET_MS = 10;

/** Options the simulator cannot run with (the state file and family have their own errors). */
export class BootloaderSimError extends Error {
  override name = 'BootloaderSimError';
  constructor(
    readonly devicePath: string,
    reason: string,
  ) {
    super(`bootloader simulator ${devicePath}: ${reason}`);
  }
}

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
  /** Called when an unplug fault drops the line; the fixture closes the PTY pair here. */
  onUnplug?: () => Promise<void>;
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
  private readonly ctx: CommandContext;
  /** Set for the one Write Memory an unplug fault cuts short. */
  private unplugAfterBytes: number | undefined;

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
    this.ctx = {
      model: this.model,
      memory: this.memory,
      faults: this.faults,
      port,
      smallSignatureReadQuirk: opts.smallSignatureReadQuirk ?? false,
      ack: (signal) => this.ack(signal),
      finalAck: (step, signal) => this.finalAck(step, signal),
      nack: (signal, why) => this.nack(signal, why),
      send: (bytes, signal) => this.send(bytes, signal),
      busy: (ms, signal) => this.busy(ms, signal),
      systemReset: (signal) => this.systemReset(signal),
      enterApplication: () => {
        this.modeValue = 'application';
      },
      log: (line) => this.log(line),
      takeUnplugAfterBytes: () => {
        const n = this.unplugAfterBytes;
        this.unplugAfterBytes = undefined;
        return n;
      },
      unplug: (step) => this.unplug(step),
    };
  }

  /** Opens the device end of the PTY, loads or creates the flash state and starts serving. */
  static async start(opts: BootloaderSimOptions): Promise<BootloaderSimulator> {
    if (!(opts.baud >= 1200 && opts.baud <= 4_000_000))
      throw new BootloaderSimError(opts.devicePath, `invalid baud ${opts.baud}`);
    if (opts.latencyScale !== undefined && !(opts.latencyScale >= 0))
      throw new BootloaderSimError(opts.devicePath, `invalid latencyScale ${opts.latencyScale}`);
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

  /** The unplug fault: the line drops; the host sees its port close. */
  private async unplug(step: BootloaderStep): Promise<never> {
    this.log(`fault: unplug during ${step}`);
    this.modeValue = 'unplugged';
    await this.port.close();
    try {
      await this.opts.onUnplug?.();
    } catch (e) {
      this.log(`onUnplug failed: ${(e as Error).message}`);
    }
    throw new SimPortClosedError(this.port.path);
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

  private async command(signal: AbortSignal): Promise<void> {
    const [cmd, complement] = await this.port.readExact(2, signal);
    if ((cmd ^ complement) !== 0xff)
      return this.nack(signal, `bad command pair ${hex(cmd, 2)} ${hex(complement, 2)}`);
    const step = STEP_OF_COMMAND.get(cmd);
    if (step === undefined || !this.model.commands.includes(cmd))
      return this.nack(signal, `command 0x${hex(cmd, 2)} not supported by this bootloader`);
    this.counters.commands++;
    this.byStep[step] = (this.byStep[step] ?? 0) + 1;
    const fault = this.faults.onCommand(step);
    this.unplugAfterBytes = step === 'write' ? fault.unplugAfter : undefined;
    if (fault.stall) {
      this.log(`fault: stall on ${step}`);
      return;
    }
    if (fault.unplugAfter === 0 || (fault.unplugAfter !== undefined && step !== 'write'))
      return this.unplug(step);
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
        return readoutUnprotect(this.ctx, signal);
      default:
        // Read-out protection: every other command is refused right after its command byte.
        if (protectedNow) return this.nack(signal, `${step} refused under RDP level 1`);
    }
    switch (step) {
      case 'read':
        return readMemory(this.ctx, signal);
      case 'write':
        return writeMemory(this.ctx, signal);
      case 'go':
        return go(this.ctx, signal);
      case 'erase':
        return erase(this.ctx, signal);
      case 'extended-erase':
        return extendedErase(this.ctx, signal);
      case 'write-protect':
        return writeProtect(this.ctx, signal);
      case 'write-unprotect':
        return writeUnprotect(this.ctx, signal);
      case 'readout-protect':
        return readoutProtect(this.ctx, signal);
    }
  }
}
