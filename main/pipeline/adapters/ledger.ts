import type { HardwareIds } from '../../../certs/hardware-ids.ts';
import type { LedgerWriter } from '../../ledger/index.ts';
import type { IssuanceCaps, IssuanceEntry } from '../caps.ts';
import type { CommittedDevice, LedgerPort } from '../ports.ts';

/** Intents whose clocks disagree by less than this are still found by the backwards scan. */
const CLOCK_SLACK_MS = 10 * 60_000;

/** The pipeline's view of the station's LedgerWriter. */
export function ledgerPort(writer: LedgerWriter): LedgerPort {
  return {
    async append(record) {
      const { index } = await writer.append(record);
      return { index };
    },

    async committedDevicesFor(ids: HardwareIds): Promise<CommittedDevice[]> {
      const out: CommittedDevice[] = [];
      for (const { attempt } of writer.findByHardwareId(ids)) {
        if (attempt.status !== 'committed' || attempt.commitIndex === undefined) continue;
        const rec = writer.record(attempt.commitIndex);
        if (rec.type !== 'commit') continue;
        out.push({
          commitIndex: attempt.commitIndex,
          deviceId: rec.deviceId,
          hardwareIds: rec.hardwareIds,
          serialsHex: [rec.certificates.modem.serialHex, rec.certificates.mcu.serialHex],
        });
      }
      return out;
    },

    async openIntents() {
      return writer.openIntents().map((a) => {
        const record = writer.record(a.intentIndex);
        if (record.type !== 'intent')
          throw new Error(`ledger: open intent #${a.intentIndex} is a ${record.type} record`);
        return { index: a.intentIndex, record };
      });
    },

    async issuanceEntries(
      batch: string,
      sinceMs: number,
      workOrder?: string,
    ): Promise<IssuanceEntry[]> {
      const seen = new Map<number, IssuanceEntry>();
      const workOrderOf = (b: string) => writer.caps.batch(b)?.workOrder;
      const entry = (b: string, timeMs: number): IssuanceEntry => {
        const wo = workOrderOf(b);
        return { batch: b, timeMs, ...(wo !== undefined ? { workOrder: wo } : {}) };
      };
      const batches = new Set([batch, ...(workOrder ? writer.caps.batchesOf(workOrder) : [])]);
      for (const b of batches)
        for (const a of writer.findByBatch(b)) {
          const r = writer.record(a.intentIndex);
          seen.set(a.intentIndex, entry(b, Date.parse(r.time)));
        }
      // Records are appended in time order (up to clock steps), so the recent ones are at
      // the end: walk back until well past the window instead of decoding the whole log.
      for (let i = writer.size - 1; i >= 0; i--) {
        const r = writer.record(i);
        const t = Date.parse(r.time);
        if (t < sinceMs - CLOCK_SLACK_MS) break;
        if (r.type === 'intent' && t >= sinceMs && !seen.has(i)) seen.set(i, entry(r.batch, t));
      }
      return [...seen.values()];
    },

    async startBatch(req) {
      const recorded = (): IssuanceCaps | undefined => {
        const c = writer.caps.batch(req.batch);
        if (!c) return undefined;
        return {
          perBatch: c.perBatch,
          perHour: c.perHour,
          ...(c.perWorkOrder !== undefined ? { perWorkOrder: c.perWorkOrder } : {}),
        };
      };
      const existing = recorded();
      if (existing) return { caps: existing, started: false };
      const caps = writer.caps.capsForNewBatch(req.requested, req.workOrder);
      await writer.append({
        type: 'batch-start',
        batch: req.batch,
        ...(req.workOrder !== undefined ? { workOrder: req.workOrder } : {}),
        profile: req.profile,
        operator: req.operator,
        caps,
      });
      // Signed at once: the caps are under the station's signature before anything is issued.
      await writer.checkpoint();
      return { caps: recorded() ?? caps, started: true };
    },

    async recordCapRefusal(r) {
      const scope = r.cap === 'per-batch' ? 'batch' : r.cap === 'per-hour' ? 'hour' : 'work-order';
      const target =
        scope === 'batch'
          ? r.batch
          : scope === 'hour'
            ? writer.stationId
            : (r.workOrder ?? r.batch);
      const { index } = await writer.append({
        type: 'cap',
        action: 'refuse',
        scope,
        target,
        limit: r.limit,
        count: r.count,
        batch: r.batch,
        operator: r.operator,
        reason: r.message,
      });
      return { index };
    },
  };
}
