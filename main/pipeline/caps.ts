/**
 * Issuance caps as pure functions: a misused station must not mint unlimited identities.
 * Counts come from the ledger (every `intent` is one planned certificate pair, whether
 * it was later committed or aborted: its serials existed), so editing a counter file
 * cannot lift a cap. The caps themselves come from the ledger too: the `batch-start`
 * record of the batch (ledger/caps.ts), not the profile, once the batch has started.
 */

export interface IssuanceCaps {
  perBatch: number;
  perHour: number;
  /** Most pairs all batches of the batch's work order may issue together. */
  perWorkOrder?: number;
}

/** One issuance the ledger already holds: when it was recorded and in which batch. */
export interface IssuanceEntry {
  batch: string;
  timeMs: number;
  /** The work order of the entry's batch, when it has one. */
  workOrder?: string;
}

export interface IssuanceCounts {
  inBatch: number;
  inLastHour: number;
  /** Issuances of the batch's work order (0 when it has none). */
  inWorkOrder?: number;
}

export type CapDecision =
  | { allowed: true; remainingInBatch: number; remainingThisHour: number }
  | {
      allowed: false;
      cap: CapName;
      limit: number;
      count: number;
      /** For per-hour refusals: when the oldest counted issuance leaves the window. */
      retryAtMs?: number;
      message: string;
    };

export type CapName = 'per-batch' | 'per-hour' | 'per-work-order';

export const HOUR_MS = 3_600_000;

/** Counts issuances of `batch` and of the rolling hour ending at `nowMs` (clock skew: future entries count). */
export function countIssuances(
  entries: Iterable<IssuanceEntry>,
  batch: string,
  nowMs: number,
  workOrder?: string,
): IssuanceCounts {
  let inBatch = 0;
  let inLastHour = 0;
  let inWorkOrder = 0;
  for (const e of entries) {
    if (e.batch === batch) inBatch++;
    if (e.timeMs > nowMs - HOUR_MS) inLastHour++;
    if (workOrder !== undefined && e.workOrder === workOrder) inWorkOrder++;
  }
  return workOrder === undefined ? { inBatch, inLastHour } : { inBatch, inLastHour, inWorkOrder };
}

/**
 * May one more certificate pair be issued? Refuses when the batch or the rolling hour has
 * reached its cap. Invalid caps (not a positive integer) refuse everything rather than
 * being read as "unlimited".
 */
export function checkIssuanceCap(
  caps: IssuanceCaps,
  counts: IssuanceCounts,
  oldestInHourMs?: number,
): CapDecision {
  const valid = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!valid(caps.perBatch))
    return refuse(
      'per-batch',
      caps.perBatch,
      counts.inBatch,
      'per-batch cap is not a positive integer',
    );
  if (!valid(caps.perHour))
    return refuse(
      'per-hour',
      caps.perHour,
      counts.inLastHour,
      'per-hour cap is not a positive integer',
    );
  if (caps.perWorkOrder !== undefined && !valid(caps.perWorkOrder))
    return refuse(
      'per-work-order',
      caps.perWorkOrder,
      counts.inWorkOrder ?? 0,
      'per-work-order cap is not a positive integer',
    );
  if (counts.inBatch >= caps.perBatch)
    return refuse(
      'per-batch',
      caps.perBatch,
      counts.inBatch,
      `issuance cap reached: batch already issued ${counts.inBatch} of ${caps.perBatch}`,
    );
  if (caps.perWorkOrder !== undefined && (counts.inWorkOrder ?? 0) >= caps.perWorkOrder)
    return refuse(
      'per-work-order',
      caps.perWorkOrder,
      counts.inWorkOrder ?? 0,
      `issuance cap reached: work order already issued ${counts.inWorkOrder ?? 0} of ${caps.perWorkOrder}`,
    );
  if (counts.inLastHour >= caps.perHour)
    return {
      ...refuse(
        'per-hour',
        caps.perHour,
        counts.inLastHour,
        `issuance cap reached: station issued ${counts.inLastHour} of ${caps.perHour} in the last hour`,
      ),
      ...(oldestInHourMs !== undefined ? { retryAtMs: oldestInHourMs + HOUR_MS } : {}),
    };
  return {
    allowed: true,
    remainingInBatch: caps.perBatch - counts.inBatch - 1,
    remainingThisHour: caps.perHour - counts.inLastHour - 1,
  };
}

function refuse(cap: CapName, limit: number, count: number, message: string): CapDecision {
  return { allowed: false, cap, limit, count, message };
}

/**
 * In-memory reservation ledger for one runner: seeded from the ledger's intents, then
 * every slot reserves synchronously (check and count in one turn of the event loop) so
 * concurrent slots cannot both take the last unit.
 */
export interface IssuanceBudgetOptions {
  /** The work order of the batches reserved through this budget. */
  workOrder?: string;
  /** Told of every refusal, synchronously (the runner records it in the ledger). */
  onRefused?: (batch: string, decision: Extract<CapDecision, { allowed: false }>) => void;
}

export class IssuanceBudget {
  private readonly entries: IssuanceEntry[];

  constructor(
    readonly caps: IssuanceCaps,
    existing: Iterable<IssuanceEntry>,
    private readonly now: () => number = Date.now,
    private readonly options: IssuanceBudgetOptions = {},
  ) {
    this.entries = [...existing];
  }

  /** Checks the caps and, when allowed, counts this issuance at once. */
  reserve(batch: string): CapDecision {
    const nowMs = this.now();
    const { workOrder } = this.options;
    const counts = countIssuances(this.entries, batch, nowMs, workOrder);
    let oldest: number | undefined;
    for (const e of this.entries)
      if (e.timeMs > nowMs - HOUR_MS && (oldest === undefined || e.timeMs < oldest))
        oldest = e.timeMs;
    const d = checkIssuanceCap(this.caps, counts, oldest);
    if (d.allowed)
      this.entries.push({
        batch,
        timeMs: nowMs,
        ...(workOrder !== undefined ? { workOrder } : {}),
      });
    else this.options.onRefused?.(batch, d);
    return d;
  }
}
