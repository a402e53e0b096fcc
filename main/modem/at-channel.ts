import { TransportError, TransportTimeoutError, type Transport } from '../transport/transport.ts';
import { AtLineSplitter, type AtToken, type NextOptions } from './line-splitter.ts';

const READ_CHUNK = 4096;
const IDLE_READ_MS = 1000;

/** A wait ran past its deadline; the engine turns it into a ModemTimeoutError with context. */
export class DeadlineExpired extends Error {
  override name = 'DeadlineExpired';
}

/**
 * The byte side of the AT engine: the transport plus the tokenizer. Every read has a
 * deadline; with no command in flight a background reader hands tokens to `onIdleToken`
 * so URCs arrive promptly and an unplug is noticed.
 */
export class AtChannel {
  readonly splitter: AtLineSplitter;
  private idle: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(
    private readonly transport: Transport,
    maxLineLength: number,
    private readonly onIdleToken: (tok: AtToken) => void,
    /** The idle reader saw the port fail (unplug). */
    private readonly onPortLost: (reason: string) => void,
  ) {
    this.splitter = new AtLineSplitter(maxLineLength);
  }

  /** The next token, reading as needed until `deadline` (epoch ms). */
  async pull(deadline: number, signal: AbortSignal, opts: NextOptions = {}): Promise<AtToken> {
    for (;;) {
      const tok = this.splitter.next(opts);
      if (tok) return tok;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new DeadlineExpired();
      let chunk: Uint8Array;
      try {
        chunk = await this.transport.read(READ_CHUNK, remaining, signal);
      } catch (e) {
        if (e instanceof TransportTimeoutError) throw new DeadlineExpired();
        throw e;
      }
      this.splitter.push(chunk);
    }
  }

  /** Exactly `n` raw bytes of a data phase (buffered ones first), by `deadline`. */
  async readRaw(n: number, deadline: number, signal: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    for (;;) {
      // Through the tokenizer: it drops the LF of `CONNECT\r\n` even when that LF is late.
      const part = this.splitter.takeRaw(n - got);
      out.set(part, got);
      got += part.length;
      if (got === n) return out;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new DeadlineExpired();
      try {
        this.splitter.push(await this.transport.read(READ_CHUNK, remaining, signal));
      } catch (e) {
        if (e instanceof TransportTimeoutError) throw new DeadlineExpired();
        throw e;
      }
    }
  }

  /**
   * Writes and waits for the OS to take the bytes, by `timeoutMs`: a peer that stops
   * reading must not hold a slot forever (the write itself cannot be cancelled; it is
   * left to finish or fail when the port closes).
   */
  async write(bytes: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const write = this.transport.write(bytes);
    try {
      await Promise.race([
        write,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DeadlineExpired()), timeoutMs);
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      write.catch(() => {}); // a late failure after a timeout is already reported
    }
  }

  /** Forgets all input received so far (buffered in the transport and in the tokenizer). */
  discard(): void {
    this.splitter.reset();
    this.transport.discardInput();
  }

  /**
   * Reads until the line has been quiet for `quietMs` (bounded to 10× that, at least 1 s),
   * handing complete lines to `onLine`, then forgets any partial line.
   */
  async drainQuiet(
    quietMs: number,
    signal: AbortSignal,
    onLine: (line: string) => void,
  ): Promise<void> {
    const hardStop = Date.now() + Math.max(quietMs * 10, 1000);
    while (Date.now() < hardStop) {
      try {
        this.splitter.push(await this.transport.read(READ_CHUNK, quietMs, signal));
      } catch (e) {
        if (e instanceof TransportTimeoutError) break;
        throw e;
      }
      for (let t = this.splitter.next(); t; t = this.splitter.next())
        if (t.kind === 'line') onLine(t.text);
    }
    this.splitter.reset();
  }

  /** Starts the background reader (no-op when it runs). */
  startIdle(): void {
    if (this.idle) return;
    const stop = new AbortController();
    const done = (async () => {
      while (!stop.signal.aborted) {
        let chunk: Uint8Array;
        try {
          chunk = await this.transport.read(READ_CHUNK, IDLE_READ_MS, stop.signal);
        } catch (e) {
          if (stop.signal.aborted || e instanceof TransportTimeoutError) continue;
          if (e instanceof TransportError) this.onPortLost(e.message);
          return;
        }
        this.splitter.push(chunk);
        for (let t = this.splitter.next(); t; t = this.splitter.next()) this.onIdleToken(t);
      }
    })();
    this.idle = { stop, done };
  }

  /** Stops the background reader and waits for it (no bytes are lost: reads abort cleanly). */
  async stopIdle(): Promise<void> {
    const idle = this.idle;
    if (!idle) return;
    this.idle = undefined;
    idle.stop.abort();
    await idle.done;
  }
}
