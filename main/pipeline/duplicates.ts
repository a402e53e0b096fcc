import type { HardwareIds } from '../../certs/hardware-ids.ts';
import type { CommittedDevice } from './ports.ts';

/**
 * The duplicate rule as a pure function: a hardware ID the ledger already holds committed
 * is refused, unless the operator explicitly re-provisions, in which case the old
 * certificates are revoked first. A board another slot is working on right now is always
 * refused (two slots cannot both own one IMEI).
 */
export type DuplicateDecision =
  | { action: 'proceed' }
  | { action: 'revoke-then-proceed'; revoke: CommittedDevice[] }
  | {
      action: 'refuse';
      code: 'duplicate' | 'in-flight';
      /** Which IDs matched, e.g. ["imei 356938035643809"]. */
      matches: string[];
      message: string;
    };

const FIELDS: Array<keyof HardwareIds> = ['imei', 'iccid', 'mcuUid'];

/** Which of `ids` equal the same field in `other`, as "field value" strings. */
export function matchingIds(ids: HardwareIds, other: HardwareIds): string[] {
  return FIELDS.filter((f) => ids[f] === other[f]).map((f) => `${f} ${ids[f]}`);
}

export function checkDuplicate(
  ids: HardwareIds,
  committed: readonly CommittedDevice[],
  inFlightElsewhere: readonly HardwareIds[],
  reprovision: boolean,
): DuplicateDecision {
  const busy = inFlightElsewhere.flatMap((o) => matchingIds(ids, o));
  if (busy.length > 0)
    return {
      action: 'refuse',
      code: 'in-flight',
      matches: busy,
      message: `another slot is provisioning this board right now (${busy.join(', ')})`,
    };
  const hits = committed.filter((c) => matchingIds(ids, c.hardwareIds).length > 0);
  if (hits.length === 0) return { action: 'proceed' };
  if (reprovision) return { action: 'revoke-then-proceed', revoke: hits };
  const matches = hits.flatMap((c) => matchingIds(ids, c.hardwareIds));
  const devices = [...new Set(hits.map((c) => c.deviceId))].join(', ');
  return {
    action: 'refuse',
    code: 'duplicate',
    matches,
    message: `already provisioned as ${devices} (${matches.join(', ')}); re-provision explicitly to revoke and replace it`,
  };
}

/**
 * Hardware IDs claimed by slots of one runner, so the duplicate check and the intent see
 * a consistent picture while other slots are mid-flight.
 */
export class HardwareClaims {
  private readonly claims = new Map<string, HardwareIds>();

  /** The IDs other slots hold now. */
  othersThan(slot: string): HardwareIds[] {
    return [...this.claims].filter(([s]) => s !== slot).map(([, ids]) => ids);
  }

  claim(slot: string, ids: HardwareIds): void {
    this.claims.set(slot, ids);
  }

  release(slot: string): void {
    this.claims.delete(slot);
  }
}
