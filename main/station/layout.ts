import { z } from 'zod';

/** File names inside a station directory (docs/station-dir.md). */
export const STATION_FILES = {
  config: 'station.json',
  rootCert: 'root-ca.pem',
  rootKey: 'root-ca.key.pem',
  issuingCert: 'issuing-ca.pem',
  issuingKey: 'issuing-ca.key.pem',
  chain: 'chain.pem',
  ledgerKey: 'ledger.key.pem',
  ledgerPublicKey: 'ledger.pub.pem',
  unlockState: 'unlock-state.json',
} as const;

export const STATION_FORMAT = 'keyline-station/1';

const fileKey = z.object({ kind: z.literal('file'), path: z.string().min(1) });
const pkcs11Key = z.object({
  kind: z.literal('pkcs11'),
  module: z.string().min(1),
  token: z.string().min(1),
  label: z.string().min(1),
});
/** Where a signing key lives: an encrypted file in the station dir now, a token later. */
export const keyLocationSchema = z.discriminatedUnion('kind', [fileKey, pkcs11Key]);
export type KeyLocation = z.infer<typeof keyLocationSchema>;

const certRef = z.object({
  path: z.string().min(1),
  subject: z.string(),
  fingerprintSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const stationConfigSchema = z.object({
  format: z.literal(STATION_FORMAT),
  stationId: z.string().regex(/^st-[0-9a-f]{16}$/),
  createdAt: z.string(),
  organization: z.string().min(1),
  issuingCa: certRef.extend({ source: z.enum(['generated', 'imported']) }),
  rootCa: certRef.nullable(),
  keys: z.object({
    /** Present only for a development root generated on the station. */
    rootCa: keyLocationSchema.optional(),
    issuingCa: keyLocationSchema,
    ledger: keyLocationSchema,
  }),
  ledgerPublicKey: z.object({ path: z.string().min(1), spkiSha256: z.string() }),
  unlock: z.object({
    maxAttempts: z.number().int().min(1).max(1000),
    backoffBaseMs: z.number().int().min(0),
    backoffMaxMs: z.number().int().min(0),
  }),
});
export type StationConfig = z.infer<typeof stationConfigSchema>;
