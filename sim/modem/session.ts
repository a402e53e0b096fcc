import { TransportTimeoutError } from '../../main/transport/transport.ts';
import { parseAtLine } from './at-line.ts';
import { commandTable } from './commands/index.ts';
import type { CommandContext, DataPhase, ModuleConfig, SessionSettings } from './context.ts';
import type { FaultBook } from './faults.ts';
import type { LinePacer } from './line-pacer.ts';
import type { ModelTraits } from './models.ts';
import { cme, error, finalLine, frameReply, frameUrc, type Reply } from './reply.ts';
import { sleep } from './sleep.ts';
import type { ModemStore } from './store.ts';
import type { ModemLatencyProfile } from './types.ts';
import type { WireInput } from './wire-input.ts';

/** Thrown inside a command when an unplug fault fires; ends the session. */
export class UnplugRequested extends Error {
  constructor(readonly command: string) {
    super(`unplug fault on ${command}`);
    this.name = 'UnplugRequested';
  }
}

/** Longest command line kept; longer input is dropped like a real module's overflow. */
const maxLineLength = 4096;
const ackByte = 'A';
const plus = 0x2b;
/** `+++` ends a data phase when framed by this much silence on both sides (BG96 FILE manual). */
const escapeGuardMs = 1000;
const escapeLength = 3;

/** Everything a session needs from its simulator. */
export interface SessionDeps {
  traits: ModelTraits;
  config: ModuleConfig;
  store: ModemStore;
  latency: Readonly<ModemLatencyProfile>;
  latencyScale: number;
  faults: FaultBook;
  pacer: LinePacer;
  input: WireInput;
  /** URCs queued to go out between this command's echo and its answer. */
  urcsBeforeAnswer: (line: string) => string[];
  /** Counts modelled latency and commands for stats(). */
  account: (latencyMs: number, commands: number) => void;
  log: (line: string) => void;
}

/**
 * One power-on period of the module: reads command lines, echoes them, runs them, answers.
 * Settings (echo, CMEE, open files) live here, so a power cycle is a new session.
 */
export class ModemSession implements CommandContext {
  readonly settings: SessionSettings;
  readonly traits: ModelTraits;
  readonly config: ModuleConfig;
  readonly store: ModemStore;
  readonly latency: Readonly<ModemLatencyProfile>;
  private signal: AbortSignal = new AbortController().signal;
  /** Armed by an unplug fault with afterBytes, consumed by the command's data phase. */
  private unplugAfter: number | undefined;
  private currentLine = '';
  private deviceClock = 0;

  constructor(private readonly deps: SessionDeps) {
    this.traits = deps.traits;
    this.config = deps.config;
    this.store = deps.store;
    this.latency = deps.latency;
    // CMEE=1 at power-up is the LTE manuals' default; the reference leaves 2G's UNCONFIRMED.
    this.settings = { echo: true, cmee: 1, ifc: [0, 0], handles: new Map(), nextHandle: 1 };
  }

  get sessionSignal(): AbortSignal {
    return this.signal;
  }

  /**
   * The device's own clock: when it finished what it was doing, or when the bytes it is
   * acting on had arrived, whichever is later. Latency and answers are timed from it, not
   * from when this process got round to them, so timer lag on the simulator's event loop
   * is not added to the module's modelled latency (nor charged to the station).
   */
  private modelNow(): number {
    return Math.max(this.deviceClock, this.deps.input.arrivedAt);
  }

  async delay(ms: number): Promise<void> {
    const scaled = ms * this.deps.latencyScale;
    this.deps.account(scaled, 0);
    this.deviceClock = this.modelNow() + scaled;
    await sleep(this.deviceClock - performance.now(), this.signal);
  }

  send(bytes: string | Uint8Array): void {
    this.deps.pacer.send(bytes, this.modelNow());
  }

  /**
   * Runs until the signal aborts (stop, power cycle), the port closes, or an unplug fault
   * fires (rejects with UnplugRequested). Other rejections are the port's own errors.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    let line: number[] = [];
    let overflow = false;
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = await this.deps.input.read(4096, 60_000, signal);
      } catch (e) {
        if (e instanceof TransportTimeoutError) continue;
        throw e;
      }
      const echo: number[] = [];
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === 0x0a) continue; // LF is ignored, so CR LF endings work too
        echo.push(b);
        if (b === 0x0d) {
          if (this.settings.echo) this.send(Uint8Array.from(echo));
          echo.length = 0;
          this.deps.input.unread(chunk.subarray(i + 1));
          const text = Buffer.from(line).toString('latin1');
          line = [];
          if (!overflow) await this.execute(text);
          overflow = false;
          break;
        }
        if (b === 0x08) line.pop();
        else if (line.length < maxLineLength) line.push(b);
        else overflow = true;
      }
      if (echo.length > 0 && this.settings.echo) this.send(Uint8Array.from(echo));
    }
  }

  private async execute(raw: string): Promise<void> {
    const text = raw.trim();
    // Real modules ignore anything that does not start with AT.
    if (!/^at/i.test(text)) return;
    this.deps.account(0, 1);
    const cmd = parseAtLine(text);
    const handler = cmd ? commandTable.get(cmd.name) : undefined;
    // Known commands carry no secrets; anything else might be key material a confused
    // host sent as text (a base64 line can start with "AT"), so only its length is logged.
    const safe = handler ? text : `(unrecognised line, ${text.length} chars)`;
    this.currentLine = safe;
    this.deps.log(`< ${safe}`);
    const f = this.deps.faults.onCommand(text);
    for (const urc of this.deps.urcsBeforeAnswer(text)) this.send(frameUrc(urc));
    if (f.unplug && f.unplug.afterBytes === undefined) throw new UnplugRequested(safe);
    if (f.stall) {
      this.deps.log('  (stall fault: no answer)');
      return;
    }
    let reply: Reply;
    if (f.error) {
      await this.delay(this.latency.simpleMs);
      reply = f.error.cme === undefined ? error() : cme(f.error.cme);
    } else {
      this.unplugAfter = f.unplug?.afterBytes;
      reply = cmd && handler ? await handler(cmd, this) : error();
      // An unplug fault on a command without a data phase fires before its answer.
      if (this.unplugAfter !== undefined) throw new UnplugRequested(safe);
    }
    const final = finalLine(reply.final, this.settings.cmee);
    this.deps.log(`> ${[...reply.info, final ?? '(no answer)'].join(' | ')}`);
    await this.store.flush();
    this.send(frameReply(reply.info, final));
  }

  async receiveData(size: number, idleMs: number, ackEvery: number | null): Promise<DataPhase> {
    const uf = this.deps.faults.onUpload();
    const unplugAfter = this.unplugAfter;
    this.unplugAfter = undefined;
    const out = new Uint8Array(size);
    let stored = 0;
    let onWire = 0;
    let ending: DataPhase['ending'] = 'complete';
    /** `+` bytes held back after a guard-time silence: maybe an escape, maybe data. */
    let held = 0;
    const checkUnplug = () => {
      if (unplugAfter !== undefined && onWire >= unplugAfter)
        throw new UnplugRequested(this.currentLine);
    };
    const accept = (byte: number) => {
      checkUnplug();
      const offset = onWire++;
      if (uf.drop && offset === uf.drop.offset) return;
      out[stored++] = uf.corrupt && offset === uf.corrupt.offset ? byte ^ uf.corrupt.mask : byte;
      if (ackEvery !== null && stored % ackEvery === 0) this.send(ackByte);
    };
    const releaseHeld = () => {
      for (; held > 0; held--) accept(plus);
    };
    checkUnplug();
    while (stored < size) {
      const dropPending = uf.drop !== undefined && onWire <= uf.drop.offset;
      const waitMs = held === escapeLength ? Math.min(escapeGuardMs, idleMs) : idleMs;
      const t0 = performance.now();
      let chunk: Uint8Array;
      try {
        chunk = await this.deps.input.read(
          size - stored - held + (dropPending ? 1 : 0),
          waitMs,
          this.signal,
        );
      } catch (e) {
        if (!(e instanceof TransportTimeoutError)) throw e;
        if (held === escapeLength) ending = 'escape';
        else {
          releaseHeld();
          ending = 'timeout';
        }
        break;
      }
      const silentBefore = performance.now() - t0 >= escapeGuardMs;
      for (let i = 0; i < chunk.length; i++) {
        if (stored + held === size) {
          releaseHeld();
          this.deps.input.unread(chunk.subarray(i));
          break;
        }
        const b = chunk[i];
        const mayEscape = held > 0 ? held < escapeLength : i === 0 && silentBefore;
        if (b === plus && mayEscape) held++;
        else {
          releaseHeld();
          accept(b);
        }
      }
      if (stored + held === size) releaseHeld();
    }
    checkUnplug();
    if (ending !== 'complete')
      this.deps.log(`  (data phase ended by ${ending} after ${stored} of ${size} bytes)`);
    return { data: out.subarray(0, stored), ending };
  }
}
