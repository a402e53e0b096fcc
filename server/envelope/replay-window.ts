/**
 * Sliding replay window over 64-bit counters (the IPsec/DTLS anti-replay scheme): accepts a
 * counter once, rejects anything at or below the window's floor and anything already seen
 * within it. Tolerates modest reordering from the network without accepting replays.
 */
export class ReplayWindow {
  private highest = -1n;
  private seen = 0n; // bit i set = counter (highest - i) already accepted

  constructor(readonly size = 64) {
    if (size < 1 || size > 1024) throw new RangeError('replay window size must be 1..1024');
  }

  /** Highest counter accepted so far (-1 when none); persisted by the store. */
  get highestAccepted(): bigint {
    return this.highest;
  }

  static restore(highest: bigint, seenBits: bigint, size = 64): ReplayWindow {
    const w = new ReplayWindow(size);
    w.highest = highest;
    w.seen = seenBits;
    return w;
  }

  get seenBits(): bigint {
    return this.seen;
  }

  /** Would this counter be accepted? Does not record it. */
  check(counter: bigint): 'fresh' | 'replay' | 'too-old' {
    if (counter > this.highest) return 'fresh';
    const age = this.highest - counter;
    if (age >= BigInt(this.size)) return 'too-old';
    return (this.seen >> age) & 1n ? 'replay' : 'fresh';
  }

  /** Records a counter that passed authentication. Call only after `check` said fresh. */
  accept(counter: bigint): void {
    const mask = (1n << BigInt(this.size)) - 1n;
    if (counter > this.highest) {
      const shift = this.highest < 0n ? BigInt(this.size) : counter - this.highest;
      this.seen = shift >= BigInt(this.size) ? 1n : ((this.seen << shift) | 1n) & mask;
      this.highest = counter;
    } else {
      this.seen |= 1n << (this.highest - counter);
    }
  }
}
