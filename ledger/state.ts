import type { HardwareIds } from '../certs/hardware-ids.ts';
import { LedgerCaps } from './caps.ts';
import type { CaRecord, LedgerRecord, StationRecord } from './records.ts';

/** Where one provisioning attempt (an intent and what closed it) stands. */
export type AttemptStatus = 'open-intent' | 'committed' | 'aborted' | 'revoked';

/** One provisioning attempt: an intent record and the records that closed or revoked it. */
export interface DeviceAttempt {
  deviceId: string;
  hardwareIds: HardwareIds;
  batch: string;
  status: AttemptStatus;
  /** Serials planned by the intent (the commit must carry certificates with these). */
  serialsHex: { modem: string; mcu: string };
  intentIndex: number;
  commitIndex?: number;
  abortIndex?: number;
  revokeIndex?: number;
}

/** A serial that belongs on the CRL, and the record that put it there. */
export interface RevokedSerial {
  serialHex: string;
  index: number;
  time: string;
  kind: 'abort' | 'revoke';
}

export type HardwareIdField = keyof HardwareIds;

/** A hardware ID lookup result: the latest attempt holding the ID, and which fields matched. */
export interface HardwareIdMatch {
  attempt: DeviceAttempt;
  matchedOn: HardwareIdField[];
}

/** A record that contradicts the ledger so far (e.g. a commit for an unknown intent). */
export class LedgerConsistencyError extends Error {
  override name = 'LedgerConsistencyError';
  constructor(
    readonly index: number,
    readonly recordType: string,
    reason: string,
  ) {
    super(`record ${index} (${recordType}): ${reason}`);
  }
}

/**
 * The ledger's meaning, rebuilt record by record: attempts and their status, and the
 * in-memory indexes the station queries (hardware ID, device ID, batch, open intents).
 * Indexes live in memory and are rebuilt on open — a million records take seconds to
 * scan, and a sidecar index would be one more file that can disagree with the log.
 */
export class LedgerState {
  private readonly attempts = new Map<number, DeviceAttempt>();
  private readonly commitToIntent = new Map<number, number>();
  private readonly open = new Set<number>();
  private readonly byDevice = new Map<string, number[]>();
  private readonly byBatch = new Map<string, number[]>();
  private readonly byHardware: Record<HardwareIdField, Map<string, number>> = {
    imei: new Map(),
    iccid: new Map(),
    mcuUid: new Map(),
  };
  /** The newest `station` record, if any. */
  station: StationRecord | undefined;
  /** The newest `ca` record, if any. */
  ca: CaRecord | undefined;
  /** Serials put on the revocation list by abort and revoke records. */
  readonly revokedSerials = new Map<string, RevokedSerial>();
  /** Issuance caps as recorded by batch-start and cap records. */
  readonly caps = new LedgerCaps();
  size: number;
  /** Index of the first record applied; references to earlier records are taken on trust. */
  readonly firstIndex: number;

  /** Whether the query indexes (hardware ID, device ID, batch) are kept. */
  private readonly indexed: boolean;

  /**
   * `firstIndex` > 0 replays only the tail of a ledger (an incremental export): commits,
   * aborts and revokes that point before it cannot be cross-checked and are accepted.
   * `indexes: false` skips the query indexes (a verifier needs only the checks).
   */
  constructor(firstIndex = 0, opts: { indexes?: boolean } = {}) {
    this.firstIndex = firstIndex;
    this.size = firstIndex;
    this.indexed = opts.indexes ?? true;
  }

  /** Throws LedgerConsistencyError if `record` cannot be the next record. */
  check(record: LedgerRecord, index: number = this.size): void {
    if (index === 0 && record.type !== 'station')
      refuse(index, record.type, 'the first record must be a station record');
    switch (record.type) {
      case 'commit':
      case 'abort': {
        if (record.intentIndex >= index)
          refuse(index, record.type, `intentIndex ${record.intentIndex} is not earlier`);
        if (record.intentIndex < this.firstIndex) return;
        const a = this.attempts.get(record.intentIndex);
        if (!a)
          return refuse(index, record.type, `intentIndex ${record.intentIndex} is not an intent`);
        if (a.status !== 'open-intent')
          refuse(
            index,
            record.type,
            `intent ${record.intentIndex} is already closed (${a.status})`,
          );
        if (a.deviceId !== record.deviceId)
          refuse(
            index,
            record.type,
            `device ${record.deviceId} does not match intent ${record.intentIndex}`,
          );
        if (record.type === 'commit') {
          const ids = record.hardwareIds;
          if (
            ids.imei !== a.hardwareIds.imei ||
            ids.iccid !== a.hardwareIds.iccid ||
            ids.mcuUid !== a.hardwareIds.mcuUid
          )
            refuse(index, record.type, `hardware IDs differ from intent ${record.intentIndex}`);
          for (const role of ['modem', 'mcu'] as const)
            if (record.certificates[role].serialHex !== a.serialsHex[role])
              refuse(
                index,
                record.type,
                `${role} certificate serial differs from the one intent ${record.intentIndex} planned`,
              );
        }
        return;
      }
      case 'revoke': {
        if (record.commitIndex >= index)
          refuse(index, record.type, `commitIndex ${record.commitIndex} is not earlier`);
        if (record.commitIndex < this.firstIndex) return;
        const intent = this.commitToIntent.get(record.commitIndex);
        const a = intent === undefined ? undefined : this.attempts.get(intent);
        if (!a)
          return refuse(index, record.type, `commitIndex ${record.commitIndex} is not a commit`);
        if (a.status === 'revoked')
          refuse(index, record.type, `commit ${record.commitIndex} is already revoked`);
        if (a.deviceId !== record.deviceId)
          refuse(
            index,
            record.type,
            `device ${record.deviceId} does not match commit ${record.commitIndex}`,
          );
        return;
      }
      case 'cap': {
        if (record.action !== 'raise' || record.scope !== 'batch') return;
        if (this.firstIndex === 0 && !this.caps.batch(record.target))
          refuse(
            index,
            record.type,
            `batch ${record.target} has not started; there is no cap to raise`,
          );
        return;
      }
      default:
        return;
    }
  }

  /** Checks and applies the record at index `size`. */
  apply(record: LedgerRecord): void {
    const index = this.size;
    this.check(record, index);
    switch (record.type) {
      case 'station':
        this.station = record;
        break;
      case 'ca':
        this.ca = record;
        break;
      case 'intent': {
        const a: DeviceAttempt = {
          deviceId: record.deviceId,
          hardwareIds: record.hardwareIds,
          batch: record.batch,
          status: 'open-intent',
          serialsHex: {
            modem: record.certificates.modem.serialHex,
            mcu: record.certificates.mcu.serialHex,
          },
          intentIndex: index,
        };
        this.attempts.set(index, a);
        this.open.add(index);
        if (this.indexed) {
          push(this.byDevice, record.deviceId, index);
          push(this.byBatch, record.batch, index);
          for (const f of ['imei', 'iccid', 'mcuUid'] as const)
            this.byHardware[f].set(record.hardwareIds[f], index);
        }
        break;
      }
      case 'commit':
      case 'abort': {
        if (record.type === 'abort')
          for (const serialHex of record.revokeSerialsHex)
            this.revokedSerials.set(serialHex, {
              serialHex,
              index,
              time: record.time,
              kind: 'abort',
            });
        const a = this.attempts.get(record.intentIndex);
        if (!a) break; // before firstIndex
        this.open.delete(record.intentIndex);
        if (record.type === 'commit') {
          a.status = 'committed';
          a.commitIndex = index;
          this.commitToIntent.set(index, record.intentIndex);
        } else {
          a.status = 'aborted';
          a.abortIndex = index;
        }
        break;
      }
      case 'batch-start':
      case 'cap':
        this.caps.apply(record, index);
        break;
      case 'revoke': {
        for (const serialHex of record.revokeSerialsHex)
          this.revokedSerials.set(serialHex, {
            serialHex,
            index,
            time: record.time,
            kind: 'revoke',
          });
        const intent = this.commitToIntent.get(record.commitIndex);
        const a = intent === undefined ? undefined : this.attempts.get(intent);
        if (!a) break; // before firstIndex
        a.status = 'revoked';
        a.revokeIndex = index;
        break;
      }
    }
    this.size++;
  }

  /**
   * The latest attempt holding each given hardware ID (deduplicated). A duplicate check
   * refuses when any of them is committed or still an open intent.
   */
  findByHardwareId(ids: Partial<HardwareIds>): HardwareIdMatch[] {
    const out = new Map<number, HardwareIdMatch>();
    for (const f of ['imei', 'iccid', 'mcuUid'] as const) {
      const v = ids[f];
      if (v === undefined) continue;
      const idx = this.byHardware[f].get(v);
      if (idx === undefined) continue;
      const m = out.get(idx) ?? { attempt: { ...this.attempts.get(idx)! }, matchedOn: [] };
      m.matchedOn.push(f);
      out.set(idx, m);
    }
    return [...out.values()].sort((a, b) => a.attempt.intentIndex - b.attempt.intentIndex);
  }

  /** Every attempt for a device ID, oldest first. */
  findByDeviceId(deviceId: string): DeviceAttempt[] {
    return (this.byDevice.get(deviceId) ?? []).map((i) => ({ ...this.attempts.get(i)! }));
  }

  /** Every attempt in a batch, oldest first. */
  findByBatch(batch: string): DeviceAttempt[] {
    return (this.byBatch.get(batch) ?? []).map((i) => ({ ...this.attempts.get(i)! }));
  }

  /** Intents not yet closed by a commit or abort (what crash recovery must close). */
  openIntents(): DeviceAttempt[] {
    return [...this.open].sort((a, b) => a - b).map((i) => ({ ...this.attempts.get(i)! }));
  }

  /** The attempt opened by the intent at `intentIndex`. */
  attempt(intentIndex: number): DeviceAttempt | undefined {
    const a = this.attempts.get(intentIndex);
    return a && { ...a };
  }
}

// A plain function, not a closure in check(): check runs for every record replayed.
function refuse(index: number, recordType: string, why: string): never {
  throw new LedgerConsistencyError(index, recordType, why);
}

function push(map: Map<string, number[]>, key: string, v: number): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}
