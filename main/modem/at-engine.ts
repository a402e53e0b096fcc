import { TransportClosedError, TransportError, type Transport } from '../transport/transport.ts';
import {
  ModemClosedError,
  ModemCommandError,
  ModemError,
  ModemLineOverflowError,
  ModemProtocolError,
  ModemResyncError,
  ModemTimeoutError,
  type ModemErrorContext,
} from './errors.ts';
import { classifyLine, parseFinal, type LineClass } from './line-classifier.ts';
import { AtChannel, DeadlineExpired } from './at-channel.ts';
import type {
  AtEngineOptions,
  AtLog,
  AtResponse,
  CommandOptions,
  SendDataOptions,
} from './at-types.ts';
import type { AtToken, NextOptions } from './line-splitter.ts';

// The option and result types live in at-types.ts; re-exported for existing importers.
export type {
  AtEngineOptions,
  AtLog,
  AtLogEntry,
  AtResponse,
  CommandOptions,
  SendDataOptions,
} from './at-types.ts';

const QUIET_MS = 100;

interface Flight {
  readonly command: string;
  readonly context: ModemErrorContext & { command: string };
  readonly successFinals: readonly string[];
  echoPending: boolean;
  readonly lines: string[];
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/**
 * Runs AT commands over one Transport: one command in flight, the rest queued in call
 * order. Separates URCs from answers, drops echo, handles raw data phases, enforces a
 * timeout on every wait and resyncs (`\r`, then `AT` until `OK`, bounded) after a timeout
 * or unreadable input. While idle it keeps reading so URCs reach listeners promptly and an
 * unplug is noticed.
 */
export class AtEngine {
  private readonly channel: AtChannel;
  private readonly listeners = new Set<(line: string) => void>();
  private readonly log: AtLog;
  private readonly defaultTimeoutMs: number;
  private readonly resyncAttempts: number;
  private readonly resyncAttemptMs: number;
  private readonly closing = new AbortController();
  private tail: Promise<unknown> = Promise.resolve();
  private needsResync = false;
  private closedReason: string | undefined;
  /**
   * Set whenever the module echoes a command line. The session clears it after `ATE0`;
   * seen again later, the module has reset (echo is on at power-up) and must be set up anew
   * before anything sensitive is sent.
   */
  echoSeen = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: AtEngineOptions = {},
  ) {
    this.channel = new AtChannel(
      transport,
      options.maxLineLength ?? 4096,
      (t) => this.idleToken(t),
      (reason) => this.markClosed(reason),
    );
    this.log = options.log ?? (() => {});
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5000;
    this.resyncAttempts = options.resyncAttempts ?? 8;
    this.resyncAttemptMs = options.resyncAttemptMs ?? 1000;
    this.channel.startIdle();
  }

  get port(): string {
    return this.transport.path;
  }

  /** False once the port closed or `close()` ran. */
  get isOpen(): boolean {
    return this.closedReason === undefined && this.transport.isOpen;
  }

  /** Sends `cmd` and resolves with its answer; rejects with a typed ModemError. */
  command(cmd: string, o: CommandOptions = {}): Promise<AtResponse> {
    return this.exclusive(cmd, o.step, o.signal, (signal, flight) =>
      this.plainExchange(flight, o.timeoutMs ?? this.defaultTimeoutMs, signal, o.data),
    );
  }

  /**
   * Sends `cmd`, waits for `CONNECT` (or the `>` prompt), writes `data` (pausing for an
   * `A` after every `ackEvery` bytes), then collects the result lines.
   */
  sendData(cmd: string, data: Uint8Array, o: SendDataOptions): Promise<AtResponse> {
    return this.exclusive(
      cmd,
      o.step,
      o.signal,
      (signal, flight) => this.dataExchange(flight, data, o, signal),
      o.prompt === '>' ? ['SEND OK'] : [],
    );
  }

  /** Registers a URC listener; returns the function that removes it. */
  onUrc(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Brings the line back to a known state: `\r`, then `AT` until `OK` (bounded). */
  resync(signal?: AbortSignal): Promise<void> {
    return this.exclusive('AT', 'resync', signal, async (s, flight) => {
      await this.resyncNow(flight.context, s);
      return { command: 'AT', lines: [], final: 'OK' };
    }).then(() => undefined);
  }

  /** Stops the engine and closes the transport; a command in flight fails with ModemClosedError. */
  async close(): Promise<void> {
    if (this.closedReason === undefined) this.closedReason = 'engine closed';
    this.closing.abort(
      new ModemClosedError({ port: this.port, slot: this.options.slot }, 'engine closed'),
    );
    await this.channel.stopIdle();
    await this.tail.catch(() => {});
    await this.transport.close().catch(() => {});
  }

  private exclusive(
    cmd: string,
    step: string | undefined,
    userSignal: AbortSignal | undefined,
    body: (signal: AbortSignal, flight: Flight) => Promise<AtResponse>,
    successFinals: readonly string[] = [],
  ): Promise<AtResponse> {
    const context = { port: this.port, slot: this.options.slot, step, command: cmd };
    const run = async (): Promise<AtResponse> => {
      if (this.closedReason !== undefined || !this.transport.isOpen)
        throw new ModemClosedError(context, this.closedReason ?? 'port closed');
      const signal = userSignal
        ? AbortSignal.any([userSignal, this.closing.signal])
        : this.closing.signal;
      signal.throwIfAborted();
      await this.channel.stopIdle();
      const flight: Flight = { command: cmd, context, successFinals, echoPending: true, lines: [] };
      try {
        if (this.needsResync && step !== 'resync') await this.resyncNow(context, signal);
        return await body(signal, flight);
      } catch (e) {
        const err = this.translate(e, flight);
        if (this.closedReason === undefined && shouldResync(err) && step !== 'resync') {
          this.needsResync = true;
          try {
            await this.resyncNow(context, signal);
          } catch (resyncErr) {
            this.log({
              dir: 'event',
              text: `resync after failure did not work: ${(resyncErr as Error).message}`,
            });
          }
        }
        throw err;
      } finally {
        if (this.closedReason === undefined) this.channel.startIdle();
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Maps transport failures and expired deadlines onto ModemErrors. */
  private translate(e: unknown, flight: Flight): unknown {
    const ctx = flight.context;
    if (
      e instanceof TransportClosedError ||
      (e instanceof TransportError && e.code !== 'timeout')
    ) {
      this.markClosed(e.message);
      return new ModemClosedError(ctx, `port closed while waiting (${e.message})`);
    }
    if (e instanceof ModemError && !(e instanceof ModemClosedError)) {
      if (!(e instanceof ModemCommandError)) this.needsResync = true;
      return e;
    }
    if (this.closing.signal.aborted) return this.closing.signal.reason;
    this.needsResync = true;
    return e;
  }

  private markClosed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.log({ dir: 'event', text: `port closed: ${reason}` });
    void this.transport.close().catch(() => {});
  }

  private async plainExchange(
    flight: Flight,
    timeoutMs: number,
    signal: AbortSignal,
    data: CommandOptions['data'],
  ): Promise<AtResponse> {
    const deadline = Date.now() + timeoutMs;
    await this.writeCommand(flight, timeoutMs, signal);
    let payload: Uint8Array | undefined;
    for (;;) {
      const cls = await this.nextLine(flight, deadline, timeoutMs, 'answer', signal);
      if (cls.kind === 'ok')
        return { command: flight.command, lines: flight.lines, final: cls.text, data: payload };
      if (cls.kind === 'error') throw commandError(flight, cls);
      if (cls.kind === 'connect') {
        const n = cls.length ?? data?.length;
        if (!data || payload || n === undefined)
          throw new ModemProtocolError(
            flight.context,
            'unexpected',
            `unexpected CONNECT${cls.length !== undefined ? ' ' + cls.length : ''}`,
          );
        if (n > (data.maxLength ?? 1 << 20))
          throw new ModemProtocolError(
            flight.context,
            'malformed',
            `CONNECT announces ${n} bytes, more than the ${data.maxLength ?? 1 << 20} accepted`,
          );
        try {
          payload = await this.channel.readRaw(n, deadline, signal);
        } catch (e) {
          if (e instanceof DeadlineExpired)
            throw new ModemTimeoutError(flight.context, `${n} data bytes`, timeoutMs);
          throw e;
        }
        this.log({ dir: 'event', text: `<${n} data bytes received>` });
        continue;
      }
      if (cls.kind === 'info') flight.lines.push(cls.text);
    }
  }

  private async dataExchange(
    flight: Flight,
    data: Uint8Array,
    o: SendDataOptions,
    signal: AbortSignal,
  ): Promise<AtResponse> {
    const prompt = o.prompt ?? 'CONNECT';
    let deadline = Date.now() + o.timeoutMs;
    await this.writeCommand(flight, o.timeoutMs, signal);
    // Phase 1: the module accepts data.
    for (;;) {
      const tok = await this.nextToken(deadline, o.timeoutMs, prompt, flight, signal, {
        prompt: prompt === '>',
      });
      if (tok.kind === 'prompt') break;
      const cls = this.classify(tok, flight);
      if (cls === undefined) continue;
      if (cls.kind === 'connect' && prompt === 'CONNECT') break;
      if (cls.kind === 'error') throw commandError(flight, cls);
      if (cls.kind === 'ok' || cls.kind === 'connect')
        throw new ModemProtocolError(
          flight.context,
          'unexpected',
          `got ${cls.kind === 'ok' ? cls.text : 'CONNECT'} instead of ${prompt}`,
        );
      if (cls.kind === 'info') flight.lines.push(cls.text);
    }
    // Phase 2: the data, paced by acks when asked.
    const block = o.ackEvery && o.ackEvery > 0 ? o.ackEvery : 1024;
    for (let off = 0; off < data.length; off += block) {
      const end = Math.min(off + block, data.length);
      await this.send(data.subarray(off, end), flight, o.timeoutMs, signal, 'data');
      o.onProgress?.(end, data.length);
      if (o.ackEvery && end < data.length) {
        deadline = Date.now() + o.timeoutMs;
        const early = await this.awaitAck(flight, deadline, o.timeoutMs, signal);
        if (early) {
          // The module ended the data phase itself: the rest must not follow, it would be
          // read as commands. The caller sees the short size in the result.
          this.log({ dir: 'event', text: `module ended the data phase after ${end} bytes` });
          return early;
        }
      }
    }
    this.log({ dir: 'event', text: `<${data.length} data bytes sent>` });
    // Phase 3: the result. Stray acks (a last full block) are ignored.
    const resultMs = o.resultTimeoutMs ?? o.timeoutMs;
    deadline = Date.now() + resultMs;
    for (;;) {
      const tok = await this.nextToken(deadline, resultMs, 'result', flight, signal, {
        acks: !!o.ackEvery,
      });
      if (tok.kind === 'ack' || tok.kind === 'prompt') continue;
      const cls = this.classify(tok, flight);
      if (cls === undefined) continue;
      if (cls.kind === 'ok')
        return { command: flight.command, lines: flight.lines, final: cls.text };
      if (
        cls.kind === 'error' ||
        (prompt === '>' && cls.kind === 'info' && cls.text === 'SEND FAIL')
      )
        throw commandError(
          flight,
          cls.kind === 'error'
            ? cls
            : {
                kind: 'error',
                text: cls.text,
                errorKind: 'ERROR',
                code: undefined,
                meaning: 'send failed',
              },
        );
      if (cls.kind === 'connect')
        throw new ModemProtocolError(flight.context, 'unexpected', 'unexpected CONNECT after data');
      if (cls.kind === 'info') flight.lines.push(cls.text);
    }
  }

  /** Waits for one upload ack; a final result instead means the module ended the upload. */
  private async awaitAck(
    flight: Flight,
    deadline: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<AtResponse | undefined> {
    for (;;) {
      const tok = await this.nextToken(deadline, timeoutMs, 'ack', flight, signal, { acks: true });
      if (tok.kind === 'ack') return undefined;
      if (tok.kind === 'prompt') continue;
      const cls = this.classify(tok, flight);
      if (cls === undefined) continue;
      if (cls.kind === 'error') throw commandError(flight, cls);
      if (cls.kind === 'ok')
        return { command: flight.command, lines: flight.lines, final: cls.text };
      if (cls.kind === 'connect')
        throw new ModemProtocolError(
          flight.context,
          'unexpected',
          'CONNECT while waiting for an upload ack',
        );
      if (cls.kind === 'info') flight.lines.push(cls.text);
    }
  }

  /** Next line-level meaning; URCs go to listeners and echo is dropped on the way. */
  private async nextLine(
    flight: Flight,
    deadline: number,
    timeoutMs: number,
    waitingFor: string,
    signal: AbortSignal,
  ): Promise<LineClass> {
    for (;;) {
      const tok = await this.nextToken(deadline, timeoutMs, waitingFor, flight, signal, {});
      const cls = this.classify(tok, flight);
      if (cls !== undefined) return cls;
    }
  }

  /** Classifies a token for the flight; undefined for what was consumed here (echo, URC). */
  private classify(tok: AtToken, flight: Flight): LineClass | undefined {
    if (tok.kind === 'overflow')
      throw new ModemLineOverflowError(flight.context, this.channel.splitter.maxLineLength);
    if (tok.kind === 'garbage')
      throw new ModemProtocolError(
        flight.context,
        'garbage',
        `unreadable line from the module: "${tok.text}"`,
      );
    if (tok.kind !== 'line') return undefined;
    const text = tok.text;
    if (flight.echoPending && text.toUpperCase() === flight.command.toUpperCase()) {
      flight.echoPending = false;
      this.echoSeen = true;
      return undefined;
    }
    const cls = classifyLine(text, flight.command, flight.successFinals);
    this.log({ dir: cls.kind === 'urc' ? 'urc' : 'rx', text });
    if (cls.kind === 'urc') {
      this.emitUrc(text);
      return undefined;
    }
    flight.echoPending = false;
    return cls;
  }

  private async nextToken(
    deadline: number,
    timeoutMs: number,
    waitingFor: string,
    flight: Flight,
    signal: AbortSignal,
    opts: NextOptions,
  ): Promise<AtToken> {
    try {
      return await this.channel.pull(deadline, signal, opts);
    } catch (e) {
      if (e instanceof DeadlineExpired)
        throw new ModemTimeoutError(flight.context, waitingFor, timeoutMs, flight.lines.slice(-3));
      throw e;
    }
  }

  private async writeCommand(
    flight: Flight,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    this.log({ dir: 'tx', text: flight.command });
    await this.send(ascii(flight.command + '\r'), flight, timeoutMs, signal, 'command');
  }

  private async send(
    bytes: Uint8Array,
    flight: Flight,
    timeoutMs: number,
    signal: AbortSignal,
    what: string,
  ): Promise<void> {
    try {
      await this.channel.write(bytes, timeoutMs, signal);
    } catch (e) {
      if (e instanceof DeadlineExpired)
        throw new ModemTimeoutError(flight.context, `port accepting the ${what}`, timeoutMs);
      throw e;
    }
  }

  private emitUrc(line: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(line);
      } catch (e) {
        this.log({ dir: 'event', text: `URC listener failed: ${(e as Error).message}` });
      }
    }
  }

  /** During a resync only URCs matter; everything else is the debris being cleared. */
  private resyncLine(line: string): void {
    if (classifyLine(line, 'AT').kind === 'urc') this.emitUrc(line);
  }

  private async resyncNow(context: ModemErrorContext, signal: AbortSignal): Promise<void> {
    this.log({ dir: 'event', text: 'resync' });
    this.channel.discard();
    try {
      await this.channel.write(ascii('\r'), this.resyncAttemptMs, signal);
    } catch (e) {
      if (e instanceof DeadlineExpired) throw new ModemResyncError(context, 0);
      throw e;
    }
    await this.channel.drainQuiet(QUIET_MS, signal, (l) => this.resyncLine(l));
    const flight: Flight = {
      command: 'AT',
      context: { ...context, command: 'AT' },
      successFinals: [],
      echoPending: true,
      lines: [],
    };
    for (let attempt = 1; attempt <= this.resyncAttempts; attempt++) {
      const deadline = Date.now() + this.resyncAttemptMs;
      try {
        await this.writeCommand(flight, this.resyncAttemptMs, signal);
        for (;;) {
          const tok = await this.channel.pull(deadline, signal);
          if (tok.kind !== 'line') continue;
          const cls = classifyLine(tok.text, 'AT');
          if (cls.kind === 'urc') this.emitUrc(tok.text);
          if (cls.kind === 'ok') {
            // A late answer to the failed command may still be on its way: let it pass.
            await this.channel.drainQuiet(QUIET_MS, signal, (l) => this.resyncLine(l));
            this.needsResync = false;
            this.log({ dir: 'event', text: `resynced after ${attempt} attempt(s)` });
            return;
          }
        }
      } catch (e) {
        if (!(e instanceof DeadlineExpired || e instanceof ModemTimeoutError)) throw e;
      }
    }
    throw new ModemResyncError(context, this.resyncAttempts);
  }

  /** With no command in flight every complete line is unsolicited. */
  private idleToken(t: AtToken): void {
    if (t.kind === 'line' && parseFinal(t.text)) {
      // A result with no command in flight: the late answer of a failed command.
      this.log({ dir: 'event', text: `dropped stale result "${t.text}"` });
    } else if (t.kind === 'line') {
      this.log({ dir: 'urc', text: t.text });
      this.emitUrc(t.text);
    } else if (t.kind === 'garbage' || t.kind === 'overflow') {
      this.log({ dir: 'event', text: `dropped unreadable input while idle (${t.kind})` });
    }
  }
}

function commandError(
  flight: Flight,
  cls: Extract<LineClass, { kind: 'error' }>,
): ModemCommandError {
  return new ModemCommandError(flight.context, cls.text, cls.errorKind, cls.code, cls.meaning);
}

function shouldResync(err: unknown): boolean {
  // A failed resync is not retried at once: the next command tries again.
  if (err instanceof ModemResyncError) return false;
  return (
    err instanceof ModemTimeoutError ||
    err instanceof ModemProtocolError ||
    (err instanceof ModemError &&
      !(err instanceof ModemCommandError) &&
      !(err instanceof ModemClosedError))
  );
}
