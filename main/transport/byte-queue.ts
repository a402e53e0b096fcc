import { DeadlineTimer } from './deadline-timer.ts';
import { TransportClosedError, TransportError, TransportTimeoutError } from './transport.ts';

interface Waiter {
  /** performance.now() ms after which the wait fails with a timeout. */
  deadline: number;
  wake: () => void;
  expire: () => void;
}

/** Receive buffer with pull semantics and timeouts; the core of every Transport here. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private waiters = new Set<Waiter>();
  private closedReason: string | null = null;
  /**
   * Serves every wait on this queue and is never cleared when a read completes. Unref'd:
   * an open port keeps the process alive, and closing the port ends every wait.
   */
  private readonly watchdog = new DeadlineTimer(() => this.expireOverdue(), true);

  constructor(
    private readonly port: string,
    /** Bound on buffered input so a babbling device cannot exhaust memory. */
    private readonly maxBuffered = 1 << 20,
  ) {}

  get buffered(): number {
    return this.size;
  }

  /** Takes ownership of `chunk`: its bytes are wiped as they are taken or discarded. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.closedReason !== null) return;
    if (this.size + chunk.length > this.maxBuffered) {
      // Keep the newest bytes; drivers resync anyway when a stream overflows.
      this.discard();
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.wakeAll();
  }

  close(reason = 'port closed'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.wakeAll();
    this.watchdog.stop();
  }

  discard(): number {
    const n = this.size;
    for (const c of this.chunks) c.fill(0);
    this.chunks = [];
    this.size = 0;
    return n;
  }

  private take(max: number): Uint8Array {
    const n = Math.min(max, this.size);
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.chunks[0];
      const want = n - off;
      // Taken bytes are wiped here: the caller's copy is the only one left.
      if (head.length <= want) {
        out.set(head, off);
        head.fill(0);
        off += head.length;
        this.chunks.shift();
      } else {
        out.set(head.subarray(0, want), off);
        head.fill(0, 0, want);
        this.chunks[0] = head.subarray(want);
        off += want;
      }
    }
    this.size -= n;
    return out;
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }

  private expireOverdue(): void {
    const now = performance.now();
    let next = Infinity;
    for (const w of [...this.waiters]) {
      if (w.deadline <= now) w.expire();
      else next = Math.min(next, w.deadline);
    }
    if (next < Infinity) this.watchdog.ensureBy(next);
  }

  /** Waits until `predicate` holds, the queue closes, the deadline passes or the signal aborts. */
  private wait(predicate: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (predicate()) return Promise.resolve();
    if (this.closedReason !== null)
      return Promise.reject(new TransportClosedError(this.port, this.closedReason));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        deadline: performance.now() + timeoutMs,
        wake: () => {
          if (predicate()) finish(() => resolve());
          else if (this.closedReason !== null)
            finish(() =>
              reject(new TransportClosedError(this.port, this.closedReason ?? undefined)),
            );
        },
        expire: () =>
          finish(() => reject(new TransportTimeoutError(this.port, timeoutMs, this.size))),
      };
      const onAbort = () => finish(() => reject(signal?.reason));
      const finish = (act: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        act();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.watchdog.ensureBy(waiter.deadline);
    });
  }

  /** Takes everything buffered. */
  drain(): Uint8Array {
    return this.take(this.size);
  }

  async read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (max <= 0) throw new TransportError('overflow', this.port, `read of ${max} bytes requested`);
    await this.wait(() => this.size > 0, timeoutMs, signal);
    return this.take(max);
  }

  async readExact(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    await this.wait(() => this.size >= n, timeoutMs, signal);
    return this.take(n);
  }
}
