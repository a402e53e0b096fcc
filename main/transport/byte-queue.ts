import { TransportClosedError, TransportError, TransportTimeoutError } from './transport.ts';

interface Waiter {
  wake: () => void;
}

/** Receive buffer with pull semantics and timeouts; the core of every Transport here. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private waiters = new Set<Waiter>();
  private closedReason: string | null = null;

  constructor(
    private readonly port: string,
    /** Bound on buffered input so a babbling device cannot exhaust memory. */
    private readonly maxBuffered = 1 << 20,
  ) {}

  get buffered(): number {
    return this.size;
  }

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
  }

  discard(): number {
    const n = this.size;
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
      if (head.length <= want) {
        out.set(head, off);
        off += head.length;
        this.chunks.shift();
      } else {
        out.set(head.subarray(0, want), off);
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

  /** Waits until `predicate` holds, the queue closes, the timer fires or the signal aborts. */
  private wait(predicate: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (predicate()) return Promise.resolve();
    if (this.closedReason !== null)
      return Promise.reject(new TransportClosedError(this.port, this.closedReason));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        wake: () => {
          if (predicate()) finish(() => resolve());
          else if (this.closedReason !== null)
            finish(() =>
              reject(new TransportClosedError(this.port, this.closedReason ?? undefined)),
            );
        },
      };
      const timer = setTimeout(
        () => finish(() => reject(new TransportTimeoutError(this.port, timeoutMs, this.size))),
        timeoutMs,
      );
      const onAbort = () => finish(() => reject(signal?.reason));
      const finish = (act: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        act();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
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
