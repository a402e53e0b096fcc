import type { HardwareIds } from '../../../certs/hardware-ids.ts';
import type { LedgerWriter } from '../../ledger/index.ts';
import type { IssuanceEntry } from '../caps.ts';
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

    async issuanceEntries(batch: string, sinceMs: number): Promise<IssuanceEntry[]> {
      const seen = new Map<number, IssuanceEntry>();
      for (const a of writer.findByBatch(batch)) {
        const r = writer.record(a.intentIndex);
        seen.set(a.intentIndex, { batch, timeMs: Date.parse(r.time) });
      }
      // Records are appended in time order (up to clock steps), so the recent ones are at
      // the end: walk back until well past the window instead of decoding the whole log.
      for (let i = writer.size - 1; i >= 0; i--) {
        const r = writer.record(i);
        const t = Date.parse(r.time);
        if (t < sinceMs - CLOCK_SLACK_MS) break;
        if (r.type === 'intent' && t >= sinceMs && !seen.has(i))
          seen.set(i, { batch: r.batch, timeMs: t });
      }
      return [...seen.values()];
    },
  };
}
