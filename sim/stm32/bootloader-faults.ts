/**
 * Faults the bootloader simulator can inject, and the bookkeeping that decides when one
 * fires. Everything is counted (nth command, nth write block, nth read) and every changed
 * bit is drawn from the seed, so a given spec and seed misbehave identically on every run.
 */

/** A command, named as the bootloader's handlers and the fault grammar name it. */
export type BootloaderStep =
  | 'sync'
  | 'get'
  | 'get-version'
  | 'get-id'
  | 'read'
  | 'go'
  | 'write'
  | 'erase'
  | 'extended-erase'
  | 'write-protect'
  | 'write-unprotect'
  | 'readout-protect'
  | 'readout-unprotect';

export const BOOTLOADER_STEPS: readonly BootloaderStep[] = [
  'sync',
  'get',
  'get-version',
  'get-id',
  'read',
  'go',
  'write',
  'erase',
  'extended-erase',
  'write-protect',
  'write-unprotect',
  'readout-protect',
  'readout-unprotect',
];

/**
 * `occurrence` is 1-based and counts the matching events; omitted means the first one
 * (unlike the modem's faults, where omitted means every one: a bootloader step that
 * always failed would only test that a driver gives up, which `nack-write=N+` covers).
 */
export type BootloaderFault =
  /** NACK the `block`th Write Memory data block (1-based); `always`: that one and every later one. */
  | { kind: 'nack-write'; block: number; always?: boolean }
  /** Replace the final ACK of the `occurrence`th `step` with a one-bit-flipped byte; the step still takes effect. */
  | { kind: 'corrupt-ack'; step: BootloaderStep; occurrence?: number }
  /**
   * Send nothing at all for a command: the `occurrence`th command of kind `step`, or the
   * `occurrence`th command of any kind when `step` is omitted. The
   * command bytes are swallowed; the bootloader then waits for the next command.
   */
  | { kind: 'stall'; step?: BootloaderStep; occurrence?: number }
  /** Multiply every erase time (page, sector, mass) by `factor`. */
  | { kind: 'slow-erase'; factor: number }
  /**
   * Drop the line (close the PTY, as pulling the cable would) at the `occurrence`th `step`:
   * before any answer, or for `write` after `afterBytes` bytes of its data block.
   */
  | { kind: 'unplug'; step: BootloaderStep; occurrence?: number; afterBytes?: number }
  /** Flip one bit of byte `offset` in the data of the `occurrence`th Read Memory. */
  | { kind: 'corrupt-read'; offset: number; occurrence?: number }
  /** Leave out byte `offset` from the data of the `occurrence`th Read Memory (the host gets one byte too few). */
  | { kind: 'drop-read'; offset: number; occurrence?: number };

/** Small seeded PRNG (mulberry32): deterministic, good enough to pick bits. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(occurrence: number | undefined, count: number): boolean {
  return (occurrence ?? 1) === count;
}

/** What the fault book decided for one Read Memory answer. */
export interface ReadTamper {
  corruptOffset?: number;
  corruptMask?: number;
  dropOffset?: number;
}

/** Tracks occurrences and answers "does a fault fire now?" for the bootloader. */
export class BootloaderFaultBook {
  private readonly random: () => number;
  private commandCount = 0;
  private readonly stepCount = new Map<BootloaderStep, number>();
  private readonly ackCount = new Map<BootloaderStep, number>();
  private writeBlocks = 0;
  private reads = 0;
  /** Faults that fired, in order, for tests and logs. */
  readonly fired: string[] = [];

  constructor(
    private readonly faults: readonly BootloaderFault[],
    seed: number,
  ) {
    this.random = seededRandom(seed ^ 0x5157_4d32);
  }

  /**
   * Called for every valid command: whether it gets no answer at all (`stall`), or the
   * line drops (`unplugAfter`: bytes of the write data block to take first; 0 = at once).
   */
  onCommand(step: BootloaderStep): { stall: boolean; unplugAfter?: number } {
    const n = ++this.commandCount;
    const k = (this.stepCount.get(step) ?? 0) + 1;
    this.stepCount.set(step, k);
    for (const f of this.faults) {
      if (f.kind === 'unplug' && f.step === step && matches(f.occurrence, k)) {
        this.fired.push(
          `unplug ${step} #${k}` + (f.afterBytes ? ` after ${f.afterBytes} bytes` : ''),
        );
        return { stall: false, unplugAfter: f.afterBytes ?? 0 };
      }
    }
    for (const f of this.faults) {
      if (f.kind !== 'stall') continue;
      const count = f.step === undefined ? n : k;
      if ((f.step === undefined || f.step === step) && matches(f.occurrence, count)) {
        this.fired.push(`stall ${step} (command ${n})`);
        return { stall: true };
      }
    }
    return { stall: false };
  }

  /** The byte to send as `step`'s final ACK (0x79, or a bit-flipped one). */
  finalAck(step: BootloaderStep, ack: number): number {
    const k = (this.ackCount.get(step) ?? 0) + 1;
    this.ackCount.set(step, k);
    for (const f of this.faults) {
      if (f.kind === 'corrupt-ack' && f.step === step && matches(f.occurrence, k)) {
        const bad = ack ^ (1 << Math.floor(this.random() * 8));
        this.fired.push(`corrupt-ack ${step} #${k} -> 0x${bad.toString(16)}`);
        return bad;
      }
    }
    return ack;
  }

  /** Called for every Write Memory data block that arrived intact; true → NACK it. */
  writeRefused(): boolean {
    const n = ++this.writeBlocks;
    for (const f of this.faults) {
      if (f.kind === 'nack-write' && (f.always ? n >= f.block : n === f.block)) {
        this.fired.push(`nack-write block ${n}`);
        return true;
      }
    }
    return false;
  }

  /** Called for every Read Memory that will send data. */
  readTamper(length: number): ReadTamper {
    const n = ++this.reads;
    const t: ReadTamper = {};
    for (const f of this.faults) {
      if (f.kind === 'corrupt-read' && matches(f.occurrence, n) && f.offset < length) {
        t.corruptOffset = f.offset;
        t.corruptMask = 1 << Math.floor(this.random() * 8);
        this.fired.push(`corrupt-read #${n} offset ${f.offset}`);
      } else if (f.kind === 'drop-read' && matches(f.occurrence, n) && f.offset < length) {
        t.dropOffset = f.offset;
        this.fired.push(`drop-read #${n} offset ${f.offset}`);
      }
    }
    return t;
  }

  /** Product of every slow-erase factor (1 when none). */
  eraseFactor(): number {
    let f = 1;
    for (const x of this.faults) if (x.kind === 'slow-erase') f *= x.factor;
    return f;
  }
}
