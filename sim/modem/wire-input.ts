import type { Transport } from '../../main/transport/transport.ts';
import { byteTimeMs } from './line-pacer.ts';
import { sleep } from './sleep.ts';

/**
 * The simulator's receive side. A PTY hands over a whole write at once; a UART would
 * still be shifting it in, so each chunk is held back until its wire time has passed
 * (counted from when the line became free) before the simulator may act on it.
 */
export class WireInput {
  private pending: Uint8Array = new Uint8Array(0);
  private lineFreeAt = 0;
  private readonly byteMs: number;

  constructor(
    private readonly transport: Transport,
    baud: number,
    /** Sees every chunk as it comes off the port (transcripts, byte counts). */
    private readonly onReceive: (chunk: Uint8Array) => void,
  ) {
    this.byteMs = byteTimeMs(baud);
  }

  /** Modelled time (performance.now() ms) at which every byte read so far had arrived. */
  get arrivedAt(): number {
    return this.lineFreeAt;
  }

  /**
   * Up to `max` bytes that have fully arrived. Rejects with the transport's timeout
   * error after `timeoutMs` of silence, its closed error, or the signal's reason.
   */
  async read(max: number, timeoutMs: number, signal: AbortSignal): Promise<Uint8Array> {
    if (this.pending.length === 0) {
      const chunk = await this.transport.read(65536, timeoutMs, signal);
      this.onReceive(chunk);
      const now = performance.now();
      this.lineFreeAt = Math.max(now, this.lineFreeAt) + chunk.length * this.byteMs;
      const wait = this.lineFreeAt - performance.now();
      if (wait >= 1) await sleep(wait, signal);
      this.pending = chunk;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }

  /** Gives bytes back (they were read past the end of a data phase). */
  unread(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const merged = new Uint8Array(bytes.length + this.pending.length);
    merged.set(bytes);
    merged.set(this.pending, bytes.length);
    this.pending = merged;
  }

  /** Forgets anything received but not yet acted on (power loss). */
  discard(): void {
    this.pending = new Uint8Array(0);
  }
}
