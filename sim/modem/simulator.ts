import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { effectiveSsl } from './commands/ssl.ts';
import type { ModuleConfig } from './context.ts';
import { FaultBook, validateFaults } from './faults.ts';
import { defaultLatencyProfile } from './latency.ts';
import { byteTimeMs, LinePacer } from './line-pacer.ts';
import { modelTraits, type ModelTraits } from './models.ts';
import { frameUrc } from './reply.ts';
import { ModemSession, UnplugRequested } from './session.ts';
import { sleep } from './sleep.ts';
import { emptyModemState, loadModemStateIfPresent } from './state-file.ts';
import { ModemStore } from './store.ts';
import {
  ModemSimError,
  type ModemLatencyProfile,
  type ModemModel,
  type ModemPersonality,
  type ModemSimOptions,
  type ModemSimStats,
  type ModemStorage,
} from './types.ts';
import { WireInput } from './wire-input.ts';

/** Options for a URC held back until a matching command arrives. */
export interface UrcTiming {
  /**
   * Case-insensitive command prefix: the URC goes out after that command's echo and before
   * its answer (a URC "mid-answer-wait"). Omitted: sent at once, between answers.
   */
  beforeAnswerTo?: string;
}

const unplugSettleMs = 50;
const flushLimitMs = 2000;
const defaultUfsCapacity = 14_483_456;
const defaultRamCapacity = 1 << 20;

/** A stable IMSI on the 001-01 test network from the ICCID's last digits. */
function defaultImsi(iccid: string): string {
  const digits = iccid.replace(/\D/g, '');
  return `00101${digits.slice(-10).padStart(10, '0')}`;
}

/**
 * A Quectel module (EC25, BG96 or M66) on the device end of a PTY pair: paced at the
 * baud rate, with persistent storage in a JSON state file and deterministic faults.
 *
 * Timing model, for benchmarks: every byte costs 10/baud s on the wire each way
 * (`wireTimeMs`), the simulator acts on input only after its wire time, and each command
 * adds its profile latency × latencyScale. For a host that waits for each answer before
 * sending more, a run cannot be faster than `lowerBoundMs(stats(), baud)`.
 */
export class ModemSimulator {
  readonly model: ModemModel;
  /** The simulator's end of the PTY pair. */
  readonly devicePath: string;
  readonly personality: ModemPersonality;
  private readonly traits: ModelTraits;
  private readonly faults: FaultBook;
  private readonly latency: Readonly<ModemLatencyProfile>;
  private readonly latencyScale: number;
  private readonly log: (line: string) => void;
  private readonly receivedChunks: Uint8Array[] = [];
  private pendingUrcs: { prefix: string; line: string }[] = [];
  private bytesIn = 0;
  private bytesOutDone = 0;
  private modelledLatencyMs = 0;
  private commands = 0;
  private pacer: LinePacer;
  private input: WireInput;
  private running: Promise<void> = Promise.resolve();
  private abort = new AbortController();
  private stopped = false;
  private unplugged = false;

  private constructor(
    private readonly opts: ModemSimOptions,
    private transport: SerialTransport,
    private readonly store: ModemStore,
    private readonly config: ModuleConfig,
  ) {
    this.model = opts.model;
    this.devicePath = opts.devicePath;
    this.personality = config.personality;
    this.traits = modelTraits(opts.model);
    this.faults = new FaultBook(opts.faults ?? [], config.seed);
    this.latency = { ...defaultLatencyProfile, ...opts.latency };
    this.latencyScale = opts.latencyScale ?? 1;
    this.log = opts.log ?? (() => {});
    this.pacer = this.newPacer();
    this.input = this.newInput();
  }

  /** Opens the device end of the PTY, loads or creates the state file, and starts answering. */
  static async start(opts: ModemSimOptions): Promise<ModemSimulator> {
    const where = opts.devicePath;
    if (!(opts.baud > 0)) throw new ModemSimError(where, `invalid baud ${opts.baud}`);
    if (opts.latencyScale !== undefined && !(opts.latencyScale >= 0))
      throw new ModemSimError(where, `invalid latencyScale ${opts.latencyScale}`);
    if (!/^\d{15}$/.test(opts.imei)) throw new ModemSimError(where, 'IMEI must be 15 digits');
    if (!/^[0-9A-Fa-f]{19,20}$/.test(opts.iccid))
      throw new ModemSimError(where, 'ICCID must be 19–20 hex digits');
    if (opts.imsi !== undefined && !/^\d{15}$/.test(opts.imsi))
      throw new ModemSimError(where, 'IMSI must be 15 digits');
    const faultProblem = validateFaults(opts.faults ?? []);
    if (faultProblem) throw new ModemSimError(where, faultProblem);
    const traits = modelTraits(opts.model);
    if (!traits) throw new ModemSimError(where, `unknown model ${String(opts.model)}`);
    const firmware = opts.firmware ?? traits.defaultFirmware;

    const loaded = loadModemStateIfPresent(opts.stateFile);
    if (loaded && loaded.model !== opts.model)
      throw new ModemSimError(
        where,
        `state file ${opts.stateFile} belongs to model ${loaded.model}, not ${opts.model}`,
      );
    const state = loaded ?? emptyModemState(opts.model, opts.imei, opts.iccid, firmware);
    Object.assign(state, { imei: opts.imei, iccid: opts.iccid, firmware });
    state.files.RAM.clear(); // starting is a power-on: RAM: is empty
    const store = new ModemStore(state, opts.stateFile, {
      UFS: opts.ufsCapacityBytes ?? defaultUfsCapacity,
      RAM: opts.ramCapacityBytes ?? defaultRamCapacity,
      NVRAM: Number.MAX_SAFE_INTEGER,
    });
    store.save();
    await store.flush();

    const transport = await SerialTransport.open({
      path: opts.devicePath,
      baudRate: opts.baud,
      parity: 'none',
    }).catch((e: unknown) => {
      throw new ModemSimError(where, `cannot open the port (${(e as Error).message})`, {
        cause: e,
      });
    });
    const config: ModuleConfig = {
      model: opts.model,
      imei: opts.imei,
      iccid: opts.iccid,
      imsi: opts.imsi ?? defaultImsi(opts.iccid),
      firmware,
      personality: opts.personality ?? 'hardened',
      seed: opts.seed ?? 1,
      baud: opts.baud,
    };
    const sim = new ModemSimulator(opts, transport, store, config);
    if (opts.announceOnStart) sim.pacer.send(frameUrc('RDY'));
    sim.startSession();
    return sim;
  }

  /** Milliseconds `bytes` take on an 8N1 line at `baud`. */
  static wireTimeMs(bytes: number, baud: number): number {
    return bytes * byteTimeMs(baud);
  }

  /** The fastest a strictly request/response host could have been: wire time both ways plus modelled latency. */
  static lowerBoundMs(stats: ModemSimStats, baud: number): number {
    return (
      ModemSimulator.wireTimeMs(stats.bytesIn + stats.bytesOut, baud) + stats.modelledLatencyMs
    );
  }

  private newPacer(): LinePacer {
    const transport = this.transport;
    return new LinePacer(
      this.opts.baud,
      async (bytes) => {
        this.bytesOutDone += bytes.length;
        await transport.write(bytes);
      },
      (e) => this.log(`  (write failed: ${(e as Error).message})`),
    );
  }

  private newInput(): WireInput {
    return new WireInput(this.transport, this.opts.baud, (chunk) => {
      this.bytesIn += chunk.length;
      this.receivedChunks.push(chunk);
    });
  }

  private startSession(): void {
    this.abort = new AbortController();
    const session = new ModemSession({
      traits: this.traits,
      config: this.config,
      store: this.store,
      latency: this.latency,
      latencyScale: this.latencyScale,
      faults: this.faults,
      pacer: this.pacer,
      input: this.input,
      urcsBeforeAnswer: (line) => this.takeUrcsFor(line),
      account: (ms, n) => {
        this.modelledLatencyMs += ms;
        this.commands += n;
      },
      log: this.log,
    });
    const controller = this.abort;
    this.running = session.run(controller.signal).catch(async (e: unknown) => {
      if (controller.signal.aborted) return;
      if (e instanceof UnplugRequested) await this.unplug(e.command);
      // The port went away (the fixture closed the pair): the module is gone too.
      else this.log(`  (session ended: ${(e as Error).message})`);
      // Either way this power-on period is over: state tied to it (TLS sessions) closes.
      controller.abort(new Error('session ended'));
    });
  }

  private takeUrcsFor(line: string): string[] {
    const upper = line.toUpperCase();
    const hit = this.pendingUrcs.filter((u) => upper.startsWith(u.prefix));
    this.pendingUrcs = this.pendingUrcs.filter((u) => !upper.startsWith(u.prefix));
    return hit.map((u) => u.line);
  }

  private async unplug(command: string): Promise<void> {
    this.log(`  (unplug fault on ${command})`);
    this.unplugged = true;
    this.pacer.close();
    // Let bytes already written reach the host and give it a moment: node-serialport on a
    // PTY slave can miss the hang-up when it lands right behind fresh data (seen here about
    // one time in two without the pause), and the station would then wait for a timeout.
    await this.pacerIdle();
    await sleep(unplugSettleMs);
    await this.transport.close().catch(() => {});
    try {
      await this.opts.onUnplug?.();
    } catch (e) {
      this.log(`  (onUnplug hook failed: ${(e as Error).message})`);
    }
  }

  /** Sends an unsolicited result code framed `\r\n<line>\r\n`, now or before a given command's answer. */
  injectUrc(line: string, timing?: UrcTiming): void {
    if (timing?.beforeAnswerTo !== undefined)
      this.pendingUrcs.push({ prefix: timing.beforeAnswerTo.toUpperCase(), line });
    else this.pacer.send(frameUrc(line));
  }

  /** Files by storage: 'UFS' | 'RAM' | 'NVRAM' → name → bytes (a copy). */
  files(storage: ModemStorage): ReadonlyMap<string, Uint8Array> {
    return new Map([...this.store.state.files[storage]].map(([k, v]) => [k, Uint8Array.from(v)]));
  }

  /** The effective settings of TLS context `ctx` (defaults for items never set). */
  sslConfig(ctx: number): Readonly<Record<string, string>> {
    return effectiveSsl(this.traits, (c, item) => this.store.sslSetting(c, item), ctx);
  }

  /** Every byte the station sent, in order (for transcript tests). */
  received(): Uint8Array {
    return Buffer.concat(this.receivedChunks);
  }

  stats(): ModemSimStats {
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOutDone,
      modelledLatencyMs: this.modelledLatencyMs,
      commands: this.commands,
    };
  }

  /**
   * Power loss and restart: output not yet sent and input not yet acted on are lost, RAM:
   * is emptied, echo returns to on, CMEE and open files reset; UFS, NVRAM and TLS contexts
   * stay. After the boot time the module sends `RDY`. Reopens the port if an unplug closed it.
   */
  async powerCycle(): Promise<void> {
    if (this.stopped) throw new ModemSimError(this.opts.devicePath, 'power cycle after stop');
    this.abort.abort(new Error('power cycle'));
    await this.running;
    this.pacer.close();
    this.input.discard();
    if (this.unplugged || !this.transport.isOpen) {
      this.transport = await SerialTransport.open({
        path: this.opts.devicePath,
        baudRate: this.opts.baud,
        parity: 'none',
      }).catch((e: unknown) => {
        throw new ModemSimError(this.opts.devicePath, 'cannot reopen the port after unplug', {
          cause: e,
        });
      });
      this.unplugged = false;
    }
    this.pendingUrcs = [];
    this.store.state.files.RAM.clear();
    this.store.state.powerCycles++;
    this.store.save();
    await this.store.flush();
    this.pacer = this.newPacer();
    this.input = this.newInput();
    const boot = this.latency.bootMs * this.latencyScale;
    this.modelledLatencyMs += boot;
    await sleep(boot);
    if (this.stopped) return;
    await this.loseInputDuringBoot();
    this.pacer.send(frameUrc('RDY'));
    this.startSession();
    await this.pacerIdle();
  }

  /** Waits for queued output, but never longer than `flushLimitMs` (a host that stopped reading). */
  private async pacerIdle(): Promise<void> {
    const giveUp = new AbortController();
    await Promise.race([this.pacer.idle(), sleep(flushLimitMs, giveUp.signal).catch(() => {})]);
    giveUp.abort();
  }

  /** Whatever the station sent while the module was booting is lost (but still recorded). */
  private async loseInputDuringBoot(): Promise<void> {
    for (;;) {
      try {
        const chunk = await this.transport.read(65536, 1);
        this.bytesIn += chunk.length;
        this.receivedChunks.push(chunk);
      } catch {
        return; // timeout: nothing left; closed: nothing to lose
      }
    }
  }

  /** Stops answering, closes the port and writes the state file a last time. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new Error('simulator stopped'));
    await this.running;
    this.pacer.close();
    await this.pacerIdle();
    this.store.save();
    await this.store.flush().catch((e: unknown) => this.log(`  (${(e as Error).message})`));
    await this.transport.close().catch(() => {});
  }
}
