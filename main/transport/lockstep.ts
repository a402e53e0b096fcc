import { DeadlineTimer } from './deadline-timer.ts';
import type { LockstepOptions } from './transport.ts';
import { TransportTimeoutError } from './transport.ts';

/**
 * One Transport.lockstep() in progress: it takes the port's bytes straight from the read
 * callback, cuts them into answers and writes the next frame from there. No queue, promise
 * or waiter per stage: for a lock-step protocol the host's share of every exchange is this
 * code path, once per stage.
 */
export class LockstepRun {
  private buffer = new Uint8Array(1024);
  private have = 0;
  private index = 0;
  private need: number;
  /** When the answer now awaited is overdue (performance.now() ms). */
  private deadline = 0;
  /** One watchdog per run rather than a timer per stage (about 3 ms over a credential write). */
  private readonly watchdog = new DeadlineTimer(() => this.checkDeadline());
  private finished = false;
  private readonly answers: Uint8Array[] = [];

  constructor(
    private readonly port: string,
    private readonly frames: readonly Uint8Array[],
    private readonly opts: LockstepOptions,
    private readonly write: (frame: Uint8Array) => void,
    /** Called once: the answers, or the error, and any bytes read past the last answer. */
    private readonly settle: (result: Uint8Array[] | Error, leftover: Uint8Array) => void,
  ) {
    this.need = opts.answerBytes;
  }

  start(alreadyReceived: Uint8Array): void {
    this.send();
    if (alreadyReceived.length > 0) this.feed(alreadyReceived);
  }

  feed(bytes: Uint8Array): void {
    if (this.finished) return;
    if (this.have + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.have + bytes.length));
      grown.set(this.buffer.subarray(0, this.have));
      this.buffer.fill(0);
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.have);
    this.have += bytes.length;
    while (!this.finished && this.have >= this.need) this.answer();
  }

  /** Ends the run with `err` (port closed, aborted). */
  fail(err: Error): void {
    this.finish(err);
  }

  private answer(): void {
    const { opts } = this;
    const more = opts.more?.(this.buffer.subarray(0, this.need), this.index) ?? 0;
    if (more > 0) {
      this.need += more;
      return;
    }
    const answer = this.buffer.slice(0, this.need);
    this.buffer.copyWithin(0, this.need, this.have);
    this.have -= this.need;
    this.answers.push(answer);
    const index = this.index;
    const proceed = index + 1 < this.frames.length && opts.proceed(answer, index);
    if (proceed) {
      this.index++;
      this.need = opts.answerBytes;
      this.send();
    }
    if (opts.answered) {
      try {
        opts.answered(answer, index);
      } catch (e) {
        return this.finish(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (!proceed) this.finish(this.answers);
  }

  private send(): void {
    this.deadline = performance.now() + this.opts.timeoutsMs[this.index];
    this.watchdog.ensureBy(this.deadline);
    this.write(this.frames[this.index]);
  }

  /** The watchdog fired: the stage now waiting is overdue, or it started later than that. */
  private checkDeadline(): void {
    if (this.finished) return;
    if (this.deadline <= performance.now()) {
      const ms = this.opts.timeoutsMs[this.index];
      this.finish(new TransportTimeoutError(this.port, ms, this.have));
    } else this.watchdog.ensureBy(this.deadline);
  }

  private finish(result: Uint8Array[] | Error): void {
    if (this.finished) return;
    this.finished = true;
    this.watchdog.stop();
    const leftover = this.buffer.slice(0, this.have);
    // Answers can hold flash contents (a key): the working copy goes now.
    this.buffer.fill(0);
    this.settle(result, leftover);
  }
}
