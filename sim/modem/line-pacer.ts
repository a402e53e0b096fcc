/** A sink that accepts bytes once they have "crossed the wire" (the PTY write). */
export type ByteSink = (bytes: Uint8Array) => Promise<void>;

/** Bytes are released in bursts of about this much wire time, not one timer per byte. */
const burstMs = 4;

/** Milliseconds one byte takes on an 8N1 line: start + 8 data + stop = 10 bits. */
export function byteTimeMs(baud: number): number {
  return 10_000 / baud;
}

/**
 * Paces output at the line's baud rate. Each burst is written when its last byte would
 * have finished on a real UART, so the receiver never sees data earlier than the wire
 * allows; when the event loop lags, the next burst catches up rather than drifting.
 */
export class LinePacer {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private lineFreeAt = 0;
  /** The burst on the wire now: its size and when its last byte is out. */
  private burst: { n: number; due: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly byteMs: number;
  private readonly burstBytes: number;

  constructor(
    baud: number,
    private readonly sink: ByteSink,
    private readonly onSinkError: (e: unknown) => void,
  ) {
    this.byteMs = byteTimeMs(baud);
    this.burstBytes = Math.max(1, Math.floor(burstMs / this.byteMs));
  }

  /**
   * Queues bytes for the line. `notBefore` is the modelled time (performance.now() ms) at
   * which the device starts sending them; when it is already past (this process woke up
   * late), the line catches up instead of adding the lag to the device's answer time.
   */
  send(bytes: Uint8Array | string, notBefore = performance.now()): void {
    if (this.closed) return;
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    if (b.length === 0) return;
    // An idle line starts the new answer at its modelled time.
    if (this.queued === 0 && this.burst === null)
      this.lineFreeAt = Math.max(this.lineFreeAt, notBefore);
    this.queue.push(Uint8Array.from(b));
    this.queued += b.length;
    this.pump();
  }

  /** Resolves once everything queued so far has been written. */
  async idle(): Promise<void> {
    if (this.queued > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.writing;
  }

  /** Drops what is still queued (power loss, unplug) and stops the timer. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.burst = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wakeIdle();
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.queue[0];
      const want = n - off;
      if (head.length <= want) {
        out.set(head, off);
        off += head.length;
        this.queue.shift();
      } else {
        out.set(head.subarray(0, want), off);
        this.queue[0] = head.subarray(want);
        off += want;
      }
    }
    this.queued -= n;
    return out;
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    while (this.queued > 0) {
      const now = performance.now();
      if (this.burst === null) {
        // A new burst starts when the line is free (send() moved that to the answer's
        // modelled start if the line was idle).
        const n = Math.min(this.queued, this.burstBytes);
        this.burst = { n, due: this.lineFreeAt + n * this.byteMs };
      }
      if (this.burst.due > now + 1) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, this.burst.due - now);
        return;
      }
      const bytes = this.take(this.burst.n);
      this.lineFreeAt = this.burst.due;
      this.burst = null;
      this.writing = this.writing.then(() => this.sink(bytes)).catch(this.onSinkError);
    }
    this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of w) wake();
  }
}
