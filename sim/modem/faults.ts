import type { ModemFault } from './types.ts';

/** What the fault book says to do with one command line. */
export interface CommandFaults {
  /** Close the port: at once, or after this many bytes of the command's data phase. */
  unplug?: { afterBytes?: number };
  stall?: true;
  /** Answer `ERROR` (cme undefined) or `+CME ERROR: cme`. */
  error?: { cme?: number };
}

/** What happens to the bytes of one upload (QFUPL/QSECWRITE data phase). */
export interface UploadFaults {
  /** Offset whose byte is stored with bits flipped by `mask`. */
  corrupt?: { offset: number; mask: number };
  /** Offset whose byte is lost on the way in. */
  drop?: { offset: number };
}

/** mulberry32: tiny, fast, and the same sequence for the same seed everywhere. */
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

function matches(line: string, prefix: string): boolean {
  return line.toUpperCase().startsWith(prefix.toUpperCase());
}

/** Counts occurrences per fault and decides, deterministically, which ones fire. */
export class FaultBook {
  private readonly counts: number[];
  private readonly random: () => number;

  constructor(
    private readonly faults: readonly ModemFault[],
    seed: number,
  ) {
    this.counts = faults.map(() => 0);
    this.random = seededRandom(seed);
  }

  private fires(i: number, occurrence: number | undefined): boolean {
    this.counts[i]++;
    return occurrence === undefined || this.counts[i] === occurrence;
  }

  /** Call once per received command line. */
  onCommand(line: string): CommandFaults {
    const out: CommandFaults = {};
    this.faults.forEach((f, i) => {
      if (f.kind !== 'stall' && f.kind !== 'error' && f.kind !== 'unplug') return;
      if (!matches(line, f.command) || !this.fires(i, f.occurrence)) return;
      if (f.kind === 'stall') out.stall ??= true;
      else if (f.kind === 'error') out.error ??= { cme: f.cme };
      else out.unplug ??= { afterBytes: f.afterBytes };
    });
    return out;
  }

  /** Call once per upload data phase. */
  onUpload(): UploadFaults {
    const out: UploadFaults = {};
    this.faults.forEach((f, i) => {
      if (f.kind !== 'corrupt-upload' && f.kind !== 'drop-upload') return;
      if (!this.fires(i, f.occurrence)) return;
      if (f.kind === 'corrupt-upload')
        out.corrupt ??= { offset: f.offset, mask: 1 + Math.floor(this.random() * 255) };
      else out.drop ??= { offset: f.offset };
    });
    return out;
  }
}

/** Rejects fault lists the simulator cannot honour, naming the bad entry. */
export function validateFaults(faults: readonly ModemFault[]): string | null {
  for (const [i, f] of faults.entries()) {
    const where = `fault ${i + 1} (${f.kind})`;
    if (f.occurrence !== undefined && !(Number.isInteger(f.occurrence) && f.occurrence >= 1))
      return `${where}: occurrence must be an integer ≥ 1`;
    if (
      (f.kind === 'stall' || f.kind === 'error' || f.kind === 'unplug') &&
      !/^at/i.test(f.command)
    )
      return `${where}: command must start with AT`;
    if ((f.kind === 'corrupt-upload' || f.kind === 'drop-upload') && !(f.offset >= 0))
      return `${where}: offset must be ≥ 0`;
    if (f.kind === 'unplug' && f.afterBytes !== undefined && !(f.afterBytes >= 0))
      return `${where}: afterBytes must be ≥ 0`;
  }
  return null;
}
