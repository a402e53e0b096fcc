import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { TransportTimeoutError } from '../../main/transport/transport.ts';

/** The simulator's end of the line went away (PTY closed, socat killed) or was closed. */
export class SimPortClosedError extends Error {
  override name = 'SimPortClosedError';
  constructor(readonly path: string) {
    super(`${path}: simulator port closed`);
  }
}

export class SimPortWriteError extends Error {
  override name = 'SimPortWriteError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: write failed (${reason})`);
  }
}

interface Chunk {
  bytes: Uint8Array;
  /** Modelled time (performance.now ms) at which byte 0 started on the wire. */
  wireStart: number;
}

const WRITE_TIMEOUT_MS = 10_000;

/** Abortable sleep; resolves early (never rejects) when the signal aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The device end of a PTY with UART timing: every byte costs 10 bit times (8N1 start +
 * 8 data + stop; on the real 8E1 line it would be 11) times `latencyScale`, in both
 * directions. A PTY delivers a host's burst at once, so incoming bytes are released to
 * the simulator only when they would have finished arriving on a wire, and outgoing bytes
 * are handed to the PTY when they would have finished leaving.
 */
export class PacedPort {
  private chunks: Chunk[] = [];
  private buffered = 0;
  private rxClock = 0;
  private txClock = 0;
  private wake: (() => void) | null = null;
  private closed = false;
  bytesIn = 0;
  bytesOut = 0;

  private constructor(
    private readonly port: SerialTransport,
    readonly path: string,
    /** Modelled ms per byte. */
    private readonly byteMs: number,
  ) {
    void this.pump();
  }

  /** Moves every chunk the port receives into the paced receive buffer, as it arrives. */
  private async pump(): Promise<void> {
    while (!this.closed) {
      try {
        this.onData(await this.port.read(65536, 60_000));
      } catch (e) {
        if (e instanceof TransportTimeoutError) continue;
        break;
      }
    }
    this.closed = true;
    this.wake?.();
  }

  static async open(path: string, baud: number, latencyScale: number): Promise<PacedPort> {
    let port: SerialTransport;
    try {
      port = await SerialTransport.open({ path, baudRate: baud, parity: 'none' });
    } catch (e) {
      throw new SimPortWriteError(path, `cannot open: ${(e as Error).message}`);
    }
    return new PacedPort(port, path, ((10 * 1000) / baud) * latencyScale);
  }

  get isOpen(): boolean {
    return !this.closed && this.port.isOpen;
  }

  private onData(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const wireStart = Math.max(this.rxClock, performance.now());
    this.rxClock = wireStart + bytes.length * this.byteMs;
    this.chunks.push({ bytes, wireStart });
    this.buffered += bytes.length;
    this.bytesIn += bytes.length;
    this.wake?.();
  }

  /**
   * Waits (without a deadline, like the ROM) for `n` bytes and for their wire time.
   * Rejects with SimPortClosedError when the line drops, or the signal's reason on abort.
   */
  async readExact(n: number, signal: AbortSignal): Promise<Uint8Array> {
    while (this.buffered < n) {
      if (this.closed) throw new SimPortClosedError(this.path);
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = null;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    const out = new Uint8Array(n);
    let off = 0;
    let lastReady = 0;
    while (off < n) {
      const head = this.chunks[0];
      const take = Math.min(head.bytes.length, n - off);
      out.set(head.bytes.subarray(0, take), off);
      off += take;
      lastReady = head.wireStart + take * this.byteMs;
      if (take === head.bytes.length) this.chunks.shift();
      else {
        this.chunks[0] = { bytes: head.bytes.subarray(take), wireStart: lastReady };
      }
    }
    this.buffered -= n;
    const wait = lastReady - performance.now();
    // Sub-millisecond debts are not worth a timer; the absolute clock keeps them honest.
    if (wait >= 1) await pause(wait, signal);
    if (signal.aborted) throw signal.reason;
    return out;
  }

  async readByte(signal: AbortSignal): Promise<number> {
    return (await this.readExact(1, signal))[0];
  }

  /** Drops buffered input (a reset loses whatever was in the USART). */
  discardInput(): number {
    const n = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    return n;
  }

  async write(bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (bytes.length === 0) return;
    this.txClock = Math.max(this.txClock, performance.now()) + bytes.length * this.byteMs;
    const wait = this.txClock - performance.now();
    if (wait >= 1) await pause(wait, signal);
    // A reset while the answer was still "on the wire" cuts it off.
    if (signal?.aborted) throw signal.reason;
    if (!this.isOpen) throw new SimPortClosedError(this.path);
    this.bytesOut += bytes.length;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.port.write(bytes).catch((e: unknown) => {
          throw new SimPortWriteError(this.path, (e as Error).message);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new SimPortWriteError(this.path, `not taken in ${WRITE_TIMEOUT_MS} ms`)),
            WRITE_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.port.close();
  }
}
