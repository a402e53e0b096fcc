import type { BatchStartRecord, CapRecord, RecordedCaps } from './records.ts';

/** Caps one batch runs under, as the ledger holds them (after any recorded raises). */
export interface BatchCaps {
  batch: string;
  workOrder?: string;
  /** Index of the batch-start record. */
  startIndex: number;
  perBatch: number;
  /** The station's hourly cap in force now. */
  perHour: number;
  /** The work order's cap in force now (when the batch belongs to one). */
  perWorkOrder?: number;
}

/**
 * The issuance caps as recorded in the ledger: `batch-start` records fix a batch's caps,
 * `cap` raise records change them. Nothing outside the ledger (profile files, the UI) can
 * change what this reports.
 */
export class LedgerCaps {
  private readonly batches = new Map<
    string,
    { startIndex: number; workOrder?: string; perBatch: number }
  >();
  private readonly workOrders = new Map<string, { limit: number; batches: string[] }>();
  private hour: number | undefined;
  /** Refusals recorded, newest last (index of each `cap` refuse record). */
  readonly refusals: number[] = [];

  /** The station's hourly cap, once any batch has started. */
  get perHour(): number | undefined {
    return this.hour;
  }

  /** Caps of a started batch; undefined if the batch never started. */
  batch(batch: string): BatchCaps | undefined {
    const b = this.batches.get(batch);
    if (!b || this.hour === undefined) return undefined;
    const wo = b.workOrder === undefined ? undefined : this.workOrders.get(b.workOrder);
    return {
      batch,
      startIndex: b.startIndex,
      perBatch: b.perBatch,
      perHour: this.hour,
      ...(b.workOrder !== undefined ? { workOrder: b.workOrder } : {}),
      ...(wo ? { perWorkOrder: wo.limit } : {}),
    };
  }

  /** The batches recorded under a work order. */
  batchesOf(workOrder: string): readonly string[] {
    return this.workOrders.get(workOrder)?.batches ?? [];
  }

  /** The cap of a work order in force now. */
  workOrderLimit(workOrder: string): number | undefined {
    return this.workOrders.get(workOrder)?.limit;
  }

  /**
   * Caps a new batch may start with: what it asks for, but never above the station's hourly
   * cap or its work order's cap already in force (raising those takes a `cap` record).
   */
  capsForNewBatch(requested: RecordedCaps, workOrder?: string): RecordedCaps {
    const perHour = Math.min(requested.perHour, this.hour ?? Infinity);
    const woLimit = workOrder === undefined ? undefined : this.workOrderLimit(workOrder);
    const perWorkOrder =
      workOrder === undefined
        ? undefined
        : woLimit !== undefined
          ? Math.min(woLimit, requested.perWorkOrder ?? woLimit)
          : requested.perWorkOrder;
    return {
      perBatch: requested.perBatch,
      perHour,
      ...(perWorkOrder !== undefined ? { perWorkOrder } : {}),
    };
  }

  apply(record: BatchStartRecord | CapRecord, index: number): void {
    if (record.type === 'batch-start') {
      if (this.batches.has(record.batch)) return; // a batch starts once; later starts change nothing
      this.batches.set(record.batch, {
        startIndex: index,
        perBatch: record.caps.perBatch,
        ...(record.workOrder !== undefined ? { workOrder: record.workOrder } : {}),
      });
      this.hour = record.caps.perHour;
      if (record.workOrder !== undefined) {
        const wo = this.workOrders.get(record.workOrder);
        const limit = record.caps.perWorkOrder ?? wo?.limit;
        if (wo) {
          wo.batches.push(record.batch);
          if (limit !== undefined) wo.limit = limit;
        } else if (limit !== undefined)
          this.workOrders.set(record.workOrder, { limit, batches: [record.batch] });
      }
      return;
    }
    if (record.action === 'refuse') {
      this.refusals.push(index);
      return;
    }
    if (record.scope === 'hour') this.hour = record.limit;
    else if (record.scope === 'batch') {
      const b = this.batches.get(record.target);
      if (b) b.perBatch = record.limit;
    } else {
      const wo = this.workOrders.get(record.target);
      if (wo) wo.limit = record.limit;
      else this.workOrders.set(record.target, { limit: record.limit, batches: [] });
    }
  }
}
