import { z } from 'zod';
import { NonCanonicalError, canonicalDecode, canonicalEncode } from './canonical.ts';

/** Ledger format version carried by every record (`v`). */
export const RECORD_VERSION = 1;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
const serialHex = z.string().regex(/^[0-9a-f]{2,40}$/, 'lowercase hex serial');
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64')
  .refine((s) => s.length % 4 === 0, 'base64 length');
const time = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/, 'ISO 8601 UTC time');
const text = z.string().max(1024);
const index = z.number().int().nonnegative();

const hardwareIds = z.strictObject({
  imei: z.string().regex(/^\d{15}$/),
  iccid: z.string().regex(/^[0-9A-F]{19,20}$/),
  mcuUid: z.string().regex(/^[0-9a-f]{24}$/),
});

/** The two certificates every device gets. */
export const CERT_ROLES = ['modem', 'mcu'] as const;
export type CertRole = (typeof CERT_ROLES)[number];

const plannedCert = z.strictObject({ serialHex, tbsSha256Hex: sha256Hex });
const issuedCert = z.strictObject({ serialHex, derB64: base64, sha256Hex });
const finding = z.strictObject({
  id: text,
  severity: z.enum(['info', 'low', 'medium', 'high', 'critical']),
  summary: text,
  detail: z.string().max(8192).optional(),
});

const base = { v: z.literal(RECORD_VERSION), time };

const stationRecord = z.strictObject({
  ...base,
  type: z.literal('station'),
  stationId: text,
  algorithm: z.enum(['ed25519', 'ecdsa-p256-sha256']),
  publicKeySpkiB64: base64,
  keyLocation: text,
});

const caRecord = z.strictObject({
  ...base,
  type: z.literal('ca'),
  /** Issuing CA first, then its issuers up to the root (DER, base64). */
  chainDerB64: z.array(base64).min(1),
  issuerSha256Hex: sha256Hex,
});

const intentRecord = z.strictObject({
  ...base,
  type: z.literal('intent'),
  deviceId: text,
  hardwareIds,
  batch: text,
  slot: text,
  profile: text,
  operator: text,
  certificates: z.strictObject({ modem: plannedCert, mcu: plannedCert }),
});

const commitRecord = z.strictObject({
  ...base,
  type: z.literal('commit'),
  intentIndex: index,
  deviceId: text,
  hardwareIds,
  modem: z.strictObject({ model: text, firmware: text }),
  certificates: z.strictObject({ modem: issuedCert, mcu: issuedCert }),
  batch: text,
  slot: text,
  profile: text,
  operator: text,
  findings: z.array(finding).optional(),
  modemKeyReadable: z.boolean().optional(),
});

const abortRecord = z.strictObject({
  ...base,
  type: z.literal('abort'),
  intentIndex: index,
  deviceId: text,
  step: text,
  reason: z.string().max(4096),
  revokeSerialsHex: z.array(serialHex),
});

const revokeRecord = z.strictObject({
  ...base,
  type: z.literal('revoke'),
  deviceId: text,
  /** The commit whose certificates this revokes. */
  commitIndex: index,
  revokeSerialsHex: z.array(serialHex).min(1),
  reason: z.string().max(4096),
  operator: text,
});

const capLimit = z.number().int().min(1).max(100_000_000);

/** Issuance caps in force for a batch, as recorded when it started. */
const issuanceCaps = z.strictObject({
  perBatch: capLimit,
  perHour: capLimit,
  perWorkOrder: capLimit.optional(),
});

/**
 * A batch starts: the caps in force for it, followed by a signed checkpoint. Later runs of
 * the same batch use these caps, not the (editable) profile.
 */
const batchStartRecord = z.strictObject({
  ...base,
  type: z.literal('batch-start'),
  batch: text,
  workOrder: text.optional(),
  profile: text,
  operator: text,
  caps: issuanceCaps,
});

/**
 * An issuance cap event: an operator raising a cap (after re-entering the PIN or
 * passphrase), or the station refusing an issuance because a cap was reached.
 * `target` is the batch, the work order, or the station ID for the hourly cap.
 */
const capRecord = z.strictObject({
  ...base,
  type: z.literal('cap'),
  action: z.enum(['raise', 'refuse']),
  scope: z.enum(['batch', 'hour', 'work-order']),
  target: text,
  /** The new limit (raise) or the limit that was reached (refuse). */
  limit: capLimit,
  /** Raise: the limit before. */
  previousLimit: capLimit.optional(),
  /** Refuse: issuances already counted against the cap. */
  count: index.optional(),
  /** Refuse: the batch and slot that were refused. */
  batch: text.optional(),
  slot: text.optional(),
  operator: text,
  reason: z.string().max(4096),
});

export const ledgerRecordSchema = z.discriminatedUnion('type', [
  stationRecord,
  caRecord,
  intentRecord,
  commitRecord,
  abortRecord,
  revokeRecord,
  batchStartRecord,
  capRecord,
]);

export type LedgerRecord = z.infer<typeof ledgerRecordSchema>;
export type RecordType = LedgerRecord['type'];
export type StationRecord = z.infer<typeof stationRecord>;
export type CaRecord = z.infer<typeof caRecord>;
export type IntentRecord = z.infer<typeof intentRecord>;
export type CommitRecord = z.infer<typeof commitRecord>;
export type AbortRecord = z.infer<typeof abortRecord>;
export type RevokeRecord = z.infer<typeof revokeRecord>;
export type Finding = z.infer<typeof finding>;
export type BatchStartRecord = z.infer<typeof batchStartRecord>;
export type CapRecord = z.infer<typeof capRecord>;
export type RecordedCaps = z.infer<typeof issuanceCaps>;

/**
 * Record types named but not defined yet; a decoder refuses them rather than guess their
 * meaning. (`batch-start` and `cap`, once reserved here, are now defined above.)
 */
export const RESERVED_RECORD_TYPES: readonly string[] = [];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What callers pass to `append`: the version is filled in, the time defaults to now. */
export type NewLedgerRecord = DistributiveOmit<LedgerRecord, 'v' | 'time'> & { time?: string };

export class RecordFormatError extends Error {
  override name = 'RecordFormatError';
}

function describeIssues(e: z.ZodError): string {
  const first = e.issues[0];
  return first ? `${first.path.join('.') || '(record)'}: ${first.message}` : 'invalid record';
}

/** Validates a record value against the v1 schema. */
export function parseRecord(value: unknown): LedgerRecord {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && RESERVED_RECORD_TYPES.includes(type))
    throw new RecordFormatError(`record type "${type}" is reserved and not defined in format v1`);
  const r = ledgerRecordSchema.safeParse(value);
  if (!r.success) throw new RecordFormatError(describeIssues(r.error));
  return r.data;
}

/** Fills in `v` and `time`, validates, and returns the record with its canonical bytes. */
export function buildRecord(
  input: NewLedgerRecord,
  now: Date = new Date(),
): {
  record: LedgerRecord;
  bytes: Uint8Array;
} {
  const record = parseRecord({
    ...input,
    v: RECORD_VERSION,
    time: input.time ?? now.toISOString(),
  });
  return { record, bytes: canonicalEncode(record) };
}

/** Decodes and validates one record's canonical bytes. */
export function decodeRecord(bytes: Uint8Array): LedgerRecord {
  let value;
  try {
    value = canonicalDecode(bytes);
  } catch (e) {
    if (e instanceof NonCanonicalError) throw new RecordFormatError(e.message);
    throw e;
  }
  return parseRecord(value);
}

/** Encodes a validated record canonically. */
export function encodeRecord(record: LedgerRecord): Uint8Array {
  return canonicalEncode(parseRecord(record));
}
