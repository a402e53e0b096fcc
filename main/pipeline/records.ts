import type { HardwareIds } from '../../certs/hardware-ids.ts';
import type { NewLedgerRecord } from '../../ledger/records.ts';
import type { SlotIdentity } from './events.ts';
import type { CommittedDevice, FindingLike, IssuedDevice, PlannedDevice } from './ports.ts';

/** Where a record comes from: batch, slot, profile, operator. */
export interface RecordContext {
  batch: string;
  slot: string;
  profile: string;
  operator: string;
}

/** The ledger's abort reason field holds at most 4096 characters. */
const MAX_REASON = 4000;

/** The durable promise made before signing: serials and TBS hashes of both certificates. */
export function intentRecord(
  ctx: RecordContext,
  ids: HardwareIds,
  plan: PlannedDevice,
): NewLedgerRecord {
  return {
    type: 'intent',
    deviceId: plan.deviceId,
    hardwareIds: ids,
    ...ctx,
    certificates: {
      modem: { serialHex: plan.modem.serialHex, tbsSha256Hex: plan.modem.tbsSha256Hex },
      mcu: { serialHex: plan.mcu.serialHex, tbsSha256Hex: plan.mcu.tbsSha256Hex },
    },
  };
}

/** The commit: both certificates and fingerprints, after both devices verified. */
export function commitRecord(
  ctx: RecordContext,
  intentIndex: number,
  identity: SlotIdentity,
  issued: IssuedDevice,
  audit?: { findings: FindingLike[]; modemKeyReadable?: boolean },
): NewLedgerRecord {
  return {
    type: 'commit',
    intentIndex,
    deviceId: identity.deviceId,
    hardwareIds: { imei: identity.imei, iccid: identity.iccid, mcuUid: identity.mcuUid },
    modem: { model: identity.modemModel, firmware: identity.modemFirmware },
    certificates: { modem: certEntry(issued.modem), mcu: certEntry(issued.mcu) },
    ...ctx,
    ...(audit ? { findings: audit.findings } : {}),
    ...(audit?.modemKeyReadable !== undefined ? { modemKeyReadable: audit.modemKeyReadable } : {}),
  };
}

/** Closes an intent that will not be committed; its serials go on the next CRL. */
export function abortRecord(
  intentIndex: number,
  plan: PlannedDevice,
  step: string,
  reason: string,
): NewLedgerRecord {
  return {
    type: 'abort',
    intentIndex,
    deviceId: plan.deviceId,
    step,
    reason: reason.length <= MAX_REASON ? reason : reason.slice(0, MAX_REASON - 1) + '…',
    revokeSerialsHex: [plan.modem.serialHex, plan.mcu.serialHex],
  };
}

/** Revokes a committed device's certificates for an explicit re-provision. */
export function revokeRecord(
  old: CommittedDevice,
  newDeviceId: string,
  ctx: RecordContext,
): NewLedgerRecord {
  return {
    type: 'revoke',
    deviceId: old.deviceId,
    commitIndex: old.commitIndex,
    revokeSerialsHex: old.serialsHex,
    reason: `re-provisioned as ${newDeviceId} on slot ${ctx.slot} (batch ${ctx.batch})`,
    operator: ctx.operator,
  };
}

function certEntry(c: {
  serialHex: string;
  certificateDer: Uint8Array;
  fingerprintSha256Hex: string;
}) {
  return {
    serialHex: c.serialHex,
    derB64: Buffer.from(c.certificateDer).toString('base64'),
    sha256Hex: c.fingerprintSha256Hex,
  };
}
