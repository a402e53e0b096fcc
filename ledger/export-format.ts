import { z } from 'zod';
import { canonicalDecode, canonicalEncode } from './canonical.ts';
import type { LedgerRecord } from './records.ts';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.ts';

/** Names the export layout (docs/ledger-format.md, "Export"). */
export const EXPORT_FORMAT = 'keyline-ledger-export/1';

/** Files of an export directory. */
export const EXPORT_FILES = {
  manifest: 'export.json',
  records: 'records.jsonl',
  /** The Merkle leaf hash of each record, 32 bytes each, in order. */
  leaves: 'leaves.bin',
  checkpoint: 'checkpoint.json',
  consistency: 'consistency.json',
  stationKey: 'station-key.pem',
  caChain: 'ca-chain.pem',
  crl: 'crl.pem',
  csv: 'devices.csv',
} as const;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  stationId: z.string().min(1),
  /** Index of the first record in records.jsonl (0 for a full export). */
  firstIndex: z.number().int().nonnegative(),
  treeSize: z.number().int().nonnegative(),
  /** Compact range of the records before firstIndex (perfect subtree hashes, largest first). */
  compactRangeHex: z.array(hex32),
  crlNumber: z.number().int().nonnegative(),
});
export type ExportManifest = z.infer<typeof manifestSchema>;

const consistencySchema = z.strictObject({
  from: z.unknown(),
  proofHex: z.array(hex32),
});
/** Proof that the previous export's checkpoint is a prefix of this one. */
export interface ConsistencyFile {
  from: SignedCheckpoint;
  proofHex: string[];
}

export class ExportFormatError extends Error {
  override name = 'ExportFormatError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function decodeWith<T>(file: string, bytes: Uint8Array, parse: (v: unknown) => T): T {
  try {
    return parse(canonicalDecode(bytes));
  } catch (e) {
    const err = e as Error & { issues?: { path: PropertyKey[]; message: string }[] };
    const issue = err.issues?.[0];
    throw new ExportFormatError(
      file,
      issue ? `${issue.path.join('.')}: ${issue.message}` : err.message,
    );
  }
}

export function encodeManifest(m: ExportManifest): Uint8Array {
  return canonicalEncode(manifestSchema.parse(m));
}
export function decodeManifest(bytes: Uint8Array): ExportManifest {
  return decodeWith(EXPORT_FILES.manifest, bytes, (v) => manifestSchema.parse(v));
}
export function encodeConsistency(c: ConsistencyFile): Uint8Array {
  return canonicalEncode(c);
}
export function decodeConsistency(bytes: Uint8Array): ConsistencyFile {
  return decodeWith(EXPORT_FILES.consistency, bytes, (v) => {
    const c = consistencySchema.parse(v);
    return { from: parseSignedCheckpoint(c.from), proofHex: c.proofHex };
  });
}

const CSV_COLUMNS = [
  'index',
  'time',
  'type',
  'device_id',
  'imei',
  'iccid',
  'mcu_uid',
  'batch',
  'slot',
  'profile',
  'operator',
  'modem_model',
  'modem_firmware',
  'modem_cert_sha256',
  'mcu_cert_sha256',
  'serials',
  'refers_to',
  'step',
  'reason',
  'modem_key_readable',
  'findings',
] as const;

const NEEDS_QUOTES = /[",\r\n]|^[=+\-@]/;

function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Header line of devices.csv (LF line ends). */
export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\n';
}

/**
 * One devices.csv line per record, for people (spreadsheets); derived entirely from the
 * record, so `verify` regenerates the file and any edit to it is caught. Cells starting
 * with = + - @ are quoted so spreadsheets do not run them as formulas.
 */
export function csvRow(index: number, r: LedgerRecord): string {
  const row: Partial<Record<(typeof CSV_COLUMNS)[number], string | number | boolean>> = {
    index,
    time: r.time,
    type: r.type,
  };
  switch (r.type) {
    case 'station':
      row.device_id = r.stationId;
      row.reason = `${r.algorithm} key at ${r.keyLocation}`;
      break;
    case 'ca':
      row.reason = `issuing CA sha256 ${r.issuerSha256Hex}`;
      break;
    case 'intent':
    case 'commit':
      Object.assign(row, {
        device_id: r.deviceId,
        imei: r.hardwareIds.imei,
        iccid: r.hardwareIds.iccid,
        mcu_uid: r.hardwareIds.mcuUid,
        batch: r.batch,
        slot: r.slot,
        profile: r.profile,
        operator: r.operator,
        serials: `${r.certificates.modem.serialHex} ${r.certificates.mcu.serialHex}`,
      });
      if (r.type === 'commit') {
        Object.assign(row, {
          modem_model: r.modem.model,
          modem_firmware: r.modem.firmware,
          modem_cert_sha256: r.certificates.modem.sha256Hex,
          mcu_cert_sha256: r.certificates.mcu.sha256Hex,
          refers_to: r.intentIndex,
          modem_key_readable: r.modemKeyReadable,
          findings: r.findings?.map((f) => `${f.severity}:${f.id}`).join(' '),
        });
      }
      break;
    case 'abort':
      Object.assign(row, {
        device_id: r.deviceId,
        serials: r.revokeSerialsHex.join(' '),
        refers_to: r.intentIndex,
        step: r.step,
        reason: r.reason,
      });
      break;
    case 'revoke':
      Object.assign(row, {
        device_id: r.deviceId,
        serials: r.revokeSerialsHex.join(' '),
        refers_to: r.commitIndex,
        operator: r.operator,
        reason: r.reason,
      });
      break;
    case 'batch-start':
      Object.assign(row, {
        batch: r.batch,
        profile: r.profile,
        operator: r.operator,
        reason:
          `caps: ${r.caps.perBatch} per batch, ${r.caps.perHour} per hour` +
          (r.caps.perWorkOrder !== undefined
            ? `, ${r.caps.perWorkOrder} per work order ${r.workOrder ?? ''}`
            : ''),
      });
      break;
    case 'cap':
      Object.assign(row, {
        batch: r.batch ?? (r.scope === 'batch' ? r.target : undefined),
        slot: r.slot,
        operator: r.operator,
        reason: `${r.action} ${r.scope} cap ${r.target}: limit ${r.limit}; ${r.reason}`,
      });
      break;
  }
  return CSV_COLUMNS.map((c) => csvField(row[c])).join(',') + '\n';
}
