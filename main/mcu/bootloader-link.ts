/**
 * The AN3155 link layer under BootloaderClient: autobaud sync with back-off, lock-step
 * stages with per-stage timeouts, bounded re-sends of a whole command, and re-alignment
 * with a device whose state became unknown. Internal to main/mcu.
 */
import {
  TransportClosedError,
  TransportError,
  TransportTimeoutError,
  type Transport,
} from '../transport/transport.ts';
import { ACK, NACK, SYNC, commandFrame, wireTimeMs } from './an3155.ts';
import { BootloaderError, hex32, hexBytes, type BootloaderStep } from './errors.ts';

export interface BootloaderTimeouts {
  /** Wait for one ACK/NACK or a short reply (ms). */
  ackMs: number;
  /** Wait for the answer to each 0x7F during sync (ms). */
  syncMs: number;
  /** Wait for the final ACK after erasing one page or sector (ms, per unit). */
  erasePerPageMs: number;
  /** Wait for the second ACK of Readout Protect (option bytes are being programmed). */
  protectMs: number;
}

export const DEFAULT_TIMEOUTS: BootloaderTimeouts = {
  ackMs: 1000,
  syncMs: 500,
  erasePerPageMs: 10_000,
  protectMs: 5000,
};

/** One line for the slot's log; the bootloader code never logs payload bytes. */
export interface BootloaderLogEntry {
  level: 'info' | 'warn';
  step: BootloaderStep;
  message: string;
}

export interface BootloaderClientOptions {
  timeouts?: Partial<BootloaderTimeouts>;
  /** Extra attempts for a NACKed or garbled command (default 3). */
  retries?: number;
  /** 0x7F attempts before giving up on sync (default 5), with doubling back-off. */
  syncAttempts?: number;
  /** First back-off between sync attempts, doubled each time (default 50 ms). */
  syncBackoffMs?: number;
  onLog?: (entry: BootloaderLogEntry) => void;
  signal?: AbortSignal;
}

export type Stage = 'command' | 'address' | 'count' | 'data';

/** The device answered something other than ACK or NACK where one was due. */
export class GarbledAnswer extends Error {
  constructor(
    readonly answered: Uint8Array,
    /** The stage it answered, when known. */
    readonly stage?: Stage,
  ) {
    super('garbled answer');
  }
}

/** The device NACKed a stage; `stage` says which (for the refusal rules and errors). */
export class Nacked extends Error {
  constructor(readonly stage: Stage) {
    super(`NACK at ${stage}`);
  }
}

export interface StageFrame {
  frame: Uint8Array;
  stage: Stage;
  /** Wait for this stage's answer (default: the ACK timeout). */
  timeoutMs?: number;
  /** Bytes that follow this stage's ACK (the data of a Read Memory). */
  dataBytes?: number;
  /**
   * Hears this stage's answer (ACK, then any data bytes) when it was an ACK. Runs inside
   * the read, after the next stage is out: keep it short, and copy what it keeps.
   */
  onAcked?: (answer: Uint8Array) => void;
}

export interface FramesOutcome {
  /** Stages ACKed, in order, before `failure` (all of them when there is none). */
  acked: number;
  failure?: Nacked | GarbledAnswer;
}

/** The index of the stage whose answer a transport error cut short (see sendFrames). */
export function inFlightStage(e: unknown): number {
  const n = (e as { inFlight?: unknown } | null)?.inFlight;
  return typeof n === 'number' ? n : 0;
}

export interface ExchangeOptions<T> {
  /** Turns a NACK into a final refusal (no retry), e.g. read-out protection. */
  refuseNack?: (n: Nacked) => BootloaderError | undefined;
  /** Runs before each re-send; `{done}` settles the command without re-sending it. */
  beforeRetry?: () => Promise<{ done: T } | undefined>;
  /** The first attempt was already made (in a batch of commands) and failed so. */
  firstFailure?: Nacked | GarbledAnswer;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lock-step byte exchange with one bootloader. Not re-entrant. */
export class BootloaderLink {
  readonly timeouts: BootloaderTimeouts;
  readonly log: (entry: BootloaderLogEntry) => void;
  private readonly retries: number;
  private readonly syncAttempts: number;
  private readonly syncBackoffMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(
    readonly transport: Transport,
    opts: BootloaderClientOptions,
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.retries = opts.retries ?? 3;
    this.syncAttempts = opts.syncAttempts ?? 5;
    this.syncBackoffMs = opts.syncBackoffMs ?? 50;
    this.log = opts.onLog ?? (() => {});
    this.signal = opts.signal;
  }

  get port(): string {
    return this.transport.path;
  }

  fail(
    step: BootloaderStep,
    detail: string,
    answered: Uint8Array | string,
    address?: number,
  ): BootloaderError {
    const deviceAnswered = typeof answered === 'string' ? answered : hexBytes(answered);
    return new BootloaderError({ port: this.port, step, address, detail, deviceAnswered });
  }

  /** Turns transport failures into BootloaderErrors for `step`; passes others through. */
  wrap(e: unknown, step: BootloaderStep, address?: number): unknown {
    if (e instanceof TransportTimeoutError)
      return this.fail(
        step,
        e.message.replace(`${this.port}: `, ''),
        e.received ? `${e.received} partial bytes` : 'nothing',
        address,
      );
    if (e instanceof TransportClosedError)
      return this.fail(step, 'port closed during the exchange', 'nothing', address);
    if (e instanceof TransportError)
      return this.fail(step, e.message.replace(`${this.port}: `, ''), 'nothing', address);
    return e;
  }

  /** Waits `ms`, cut short by the session's abort signal. */
  pause(ms: number): Promise<void> {
    return sleep(ms, this.signal);
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.transport.write(bytes);
  }

  readBytes(n: number, timeoutMs = this.timeouts.ackMs): Promise<Uint8Array> {
    return this.transport.readExact(n, timeoutMs, this.signal);
  }

  /** Reads one acknowledgement: resolves on ACK, throws Nacked or GarbledAnswer otherwise. */
  async expectAck(stage: Stage, timeoutMs = this.timeouts.ackMs): Promise<void> {
    const [b] = await this.readBytes(1, timeoutMs);
    if (b === ACK) return;
    if (b === NACK) throw new Nacked(stage);
    throw new GarbledAnswer(Uint8Array.of(b));
  }

  /**
   * Sends a stage and reads its acknowledgement. The ACK itself proves the bytes arrived,
   * so the OS drain confirmation is not waited for: it would add a thread-pool round trip
   * to each of the ~60 stages of a credential write. A failed write is still reported
   * (in place of the timeout it causes).
   */
  async sendExpectAck(
    bytes: Uint8Array,
    stage: Stage,
    timeoutMs = this.timeouts.ackMs,
  ): Promise<void> {
    let sendError: unknown;
    this.send(bytes).catch((e: unknown) => {
      sendError = e;
    });
    try {
      await this.expectAck(stage, timeoutMs);
    } catch (e) {
      throw sendError ?? e;
    }
  }

  /**
   * Sends stages back to back, each as soon as the previous one is ACKed, from inside the
   * read that brings the ACK (see Transport.lockstep): no event-loop turn per stage, which
   * is most of a host's share of each exchange. A stage with `dataBytes` also takes that
   * many bytes after its ACK (Read Memory); its `onAcked` hears the answer once the next
   * stage is out. Stops at the first answer that is not an ACK and says which stage that
   * was; transport errors (timeout, closed) are thrown as they are, with `inFlight` naming
   * the stage that was waiting.
   */
  async sendFrames(stages: readonly StageFrame[]): Promise<FramesOutcome> {
    /** Stages ACKed so far: also the index of the stage in flight. */
    let acked = 0;
    let answers: Uint8Array[];
    try {
      answers = await this.transport.lockstep(
        stages.map((s) => s.frame),
        {
          answerBytes: 1,
          more: (soFar, i) =>
            soFar.length === 1 && soFar[0] === ACK ? (stages[i].dataBytes ?? 0) : 0,
          timeoutsMs: stages.map((s) => s.timeoutMs ?? this.timeouts.ackMs),
          proceed: (answer) => answer[0] === ACK,
          answered: (answer, i) => {
            if (answer[0] !== ACK) return;
            acked = i + 1;
            // May wipe the answer (read data): judged above, not from the answers later.
            stages[i].onAcked?.(answer);
          },
          signal: this.signal,
        },
      );
    } catch (e) {
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { inFlight: acked });
    }
    if (acked === answers.length) return { acked };
    const last = answers.length - 1;
    const [b] = answers[last];
    const stage = stages[last].stage;
    return {
      acked: last,
      failure: b === NACK ? new Nacked(stage) : new GarbledAnswer(Uint8Array.of(b), stage),
    };
  }

  /**
   * A command answered with ACK, a count N, N+1 bytes and a final ACK (Get, Get ID), as
   * one lock-step run. Returns the N+1 bytes; throws Nacked or GarbledAnswer.
   */
  async countedAnswer(cmd: number): Promise<Uint8Array> {
    this.transport.discardInput();
    const [answer] = await this.transport.lockstep([commandFrame(cmd)], {
      answerBytes: 1,
      // [ACK] → the count byte; [ACK, N] → N+1 bytes and the final ACK; then complete.
      more: (soFar) =>
        soFar[0] !== ACK ? 0 : soFar.length === 1 ? 1 : soFar.length === 2 ? soFar[1] + 2 : 0,
      timeoutsMs: [this.timeouts.ackMs + wireTimeMs(258)],
      proceed: () => false,
      signal: this.signal,
    });
    if (answer[0] === NACK) throw new Nacked('command');
    if (answer[0] !== ACK) throw new GarbledAnswer(answer.subarray(0, 1), 'command');
    const last = answer[answer.length - 1];
    if (last === NACK) throw new Nacked('data');
    if (last !== ACK) throw new GarbledAnswer(Uint8Array.of(last), 'data');
    return answer.subarray(2, answer.length - 1);
  }

  /** One command's stages (see sendFrames); throws Nacked or GarbledAnswer. */
  async sendStages(stages: readonly StageFrame[]): Promise<void> {
    const { failure } = await this.sendFrames(stages);
    if (failure) throw failure;
  }

  /** Drops stale input, sends the command pair and waits for its ACK. */
  async sendCommand(cmd: number): Promise<void> {
    this.transport.discardInput();
    await this.sendExpectAck(commandFrame(cmd), 'command');
  }

  /**
   * Runs one whole command with bounded re-sends. NACKs and garbled answers are retried
   * (after re-aligning with the device when its state is in doubt); silence and closed
   * ports are not: a stalled device stays stalled and the slot should fail fast.
   */
  async exchange<T>(
    step: BootloaderStep,
    address: number | undefined,
    body: () => Promise<T>,
    opts: ExchangeOptions<T> = {},
  ): Promise<T> {
    let last = opts.firstFailure;
    if (last instanceof Nacked) {
      const refusal = opts.refuseNack?.(last);
      if (refusal) throw refusal;
    }
    for (let attempt = last ? 1 : 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const why =
          last instanceof Nacked
            ? `NACK at ${last.stage}`
            : `garbled answer ${hexBytes(last?.answered ?? new Uint8Array())}`;
        this.log({
          level: 'warn',
          step,
          message: `${why}${address === undefined ? '' : ` at ${hex32(address)}`}; re-sending (attempt ${attempt + 1} of ${this.retries + 1})`,
        });
        // A garbled answer leaves the device mid-command; a NACKed command pair can mean
        // the device is one byte out of step (e.g. a late answer from a timed-out step).
        if (last instanceof GarbledAnswer || (last instanceof Nacked && last.stage === 'command'))
          await this.realign(step);
        if (opts.beforeRetry) {
          const settled = await opts.beforeRetry();
          if (settled) return settled.done;
        }
      }
      try {
        return await body();
      } catch (e) {
        if (e instanceof Nacked) {
          const refusal = opts.refuseNack?.(e);
          if (refusal) throw refusal;
          last = e;
          continue;
        }
        if (e instanceof GarbledAnswer) {
          last = e;
          continue;
        }
        throw this.wrap(e, step, address);
      }
    }
    if (last instanceof Nacked)
      throw this.fail(
        step,
        `NACK at the ${last.stage} stage after ${this.retries + 1} attempts`,
        Uint8Array.of(NACK),
        address,
      );
    throw this.fail(
      step,
      `no valid acknowledgement after ${this.retries + 1} attempts`,
      last?.answered ?? 'nothing',
      address,
    );
  }

  /**
   * Brings a device whose state is unknown back to waiting for a command. Feeds 0x02
   * filler bytes: whatever stage the device is in (command pair, address, count, write
   * data, page list) 0x02 filler fails its complement or checksum check, so the device
   * NACKs without touching memory (an even count of 0x02 XORs to 0, never 0x02; 0x02 is
   * no mass-erase code). Then one or two more filler bytes land on a command boundary.
   */
  async realign(step: BootloaderStep): Promise<void> {
    const filler = 0x02;
    const settleMs = Math.min(100, this.timeouts.ackMs);
    try {
      await sleep(settleMs, this.signal);
      this.transport.discardInput();
      let sawNack = false;
      // Worst case is an Extended Erase count of 0x0202: 1 + 2 × 515 bytes before the checksum.
      for (let sent = 0; sent < 1100 && !sawNack; sent += 16) {
        await this.send(new Uint8Array(16).fill(filler));
        try {
          sawNack = (await this.transport.read(64, 30, this.signal)).includes(NACK);
        } catch (e) {
          if (!(e instanceof TransportTimeoutError)) throw e;
        }
      }
      if (!sawNack) throw this.fail('recover', 'device did not return to command state', 'nothing');
      await sleep(settleMs, this.signal);
      this.transport.discardInput();
      // The device may hold one filler byte as half a command: one more byte either
      // completes that pair (NACK) or starts a new one (silence; a second byte NACKs).
      // Silence is judged over the full ACK timeout: a NACK arriving after a second filler
      // went out would be taken for that one, leaving the device half a command ahead.
      await this.send(Uint8Array.of(filler));
      if (!(await this.answersNack(this.timeouts.ackMs))) {
        await this.send(Uint8Array.of(filler));
        if (!(await this.answersNack(this.timeouts.ackMs)))
          throw this.fail('recover', 'no NACK to a filler command pair', 'nothing');
      }
      this.transport.discardInput();
    } catch (e) {
      throw this.wrap(e, 'recover');
    }
    this.log({ level: 'info', step, message: 'device back at command state' });
  }

  /** True on a NACK within `timeoutMs`, false on silence; anything else is an error. */
  private async answersNack(timeoutMs: number): Promise<boolean> {
    try {
      await this.expectAck('command', timeoutMs);
    } catch (e) {
      if (e instanceof Nacked) return true;
      if (e instanceof TransportTimeoutError) return false;
      if (e instanceof GarbledAnswer)
        throw this.fail('recover', 'garbled answer to filler', e.answered);
      throw e;
    }
    throw this.fail('recover', 'ACK to a filler byte pair', Uint8Array.of(ACK));
  }

  /**
   * 0x7F autobaud handshake with bounded, doubling back-off. Each retry goes to the log
   * (sync is the flakiest step on real lines). A NACK means the bootloader was already
   * synchronised and took the 0x7F as half a command; silence after one 0x7F is answered
   * by a second, which an already synchronised bootloader NACKs as a bad pair.
   */
  async sync(): Promise<void> {
    let backoff = this.syncBackoffMs;
    let lastAnswer: Uint8Array = new Uint8Array();
    for (let attempt = 1; attempt <= this.syncAttempts; attempt++) {
      this.transport.discardInput();
      try {
        for (let probe = 0; probe < 2; probe++) {
          let b: number;
          try {
            [[b]] = await this.transport.lockstep([Uint8Array.of(SYNC)], {
              answerBytes: 1,
              timeoutsMs: [this.timeouts.syncMs],
              proceed: () => false,
              signal: this.signal,
            });
          } catch (e) {
            if (e instanceof TransportTimeoutError) continue;
            throw e;
          }
          lastAnswer = Uint8Array.of(b);
          if (b === ACK || b === NACK) {
            this.log({
              level: 'info',
              step: 'sync',
              message:
                b === ACK
                  ? `synchronised on attempt ${attempt}`
                  : `already synchronised (NACK to 0x7F) on attempt ${attempt}`,
            });
            return;
          }
          break; // noise on the line: back off and start over
        }
      } catch (e) {
        throw this.wrap(e, 'sync');
      }
      if (attempt < this.syncAttempts) {
        this.log({
          level: 'warn',
          step: 'sync',
          message: `no ACK to 0x7F (answered: ${hexBytes(lastAnswer)}); retry ${attempt} of ${this.syncAttempts - 1} in ${backoff} ms`,
        });
        await sleep(backoff, this.signal);
        backoff *= 2;
      }
    }
    throw this.fail('sync', `no ACK to 0x7F after ${this.syncAttempts} attempts`, lastAnswer);
  }
}
