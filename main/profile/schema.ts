import { auditPolicySchema } from '../audit/policy.ts';
import { z } from 'zod';

/**
 * The product profile: everything that differs between one product line and another.
 * JSON on disk, documented field by field in docs/profile.md. Unknown fields are refused
 * (`.strict()`) so a typo cannot silently fall back to a default on a production line.
 */

/** An address or size written either as a JSON integer or as a "0x…" hex string. */
const address = z.union(
  [
    z.number().int().nonnegative(),
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,8}$/)
      .transform((s) => Number.parseInt(s.slice(2), 16)),
  ],
  { error: 'must be a hex string like "0x080E0000" or a non-negative integer' },
);

const parity = z.enum(['none', 'even']);
const baudRate = z.number().int().min(1200).max(4_000_000);
const timeoutMs = z.number().int().min(100).max(3_600_000);

/** File names on the module, storage prefix included (`UFS:ca.pem`, `NVRAM:CA0`). */
const moduleFileName = z
  .string()
  .regex(
    /^(UFS:|RAM:|NVRAM:)?[A-Za-z0-9_.-]{1,64}$/,
    'must be an optional UFS:/RAM:/NVRAM: prefix and 1–64 characters of A-Z a-z 0-9 _ . -',
  );

const serverCa = z.discriminatedUnion('kind', [
  /** A PEM file; a relative path is resolved against the profile file's folder. */
  z.object({ kind: z.literal('file'), path: z.string().min(1) }).strict(),
  z
    .object({
      kind: z.literal('inline'),
      pem: z.string().includes('-----BEGIN CERTIFICATE-----', {
        message: 'must contain a PEM certificate',
      }),
    })
    .strict(),
  /** Development only: install the station's own root CA (the demo's reference server uses it). */
  z.object({ kind: z.literal('station-root') }).strict(),
]);

const modemSection = z
  .object({
    baudRate: baudRate.default(115200),
    parity: parity.default('none'),
    /** Module family the line expects (LTE Standard, LPWA or 2G); absent = any. */
    family: z.enum(['lte', 'lpwa', '2g']).optional(),
    /** Models accepted on this line (from ATI); empty or absent = any supported model. */
    expectedModels: z.array(z.string().min(1)).optional(),
    tlsContext: z.number().int().min(0).max(5).default(1),
    files: z
      .object({
        caCert: moduleFileName,
        clientCert: moduleFileName,
        clientKey: moduleFileName,
      })
      .strict()
      .optional(),
    serverCa,
  })
  .strict();

const mcuSection = z
  .object({
    family: z.enum(['F0', 'F1', 'F4', 'L4', 'G0', 'G4', 'H7']),
    baudRate: baudRate.default(115200),
    /** 'even' (8E1) on a real STM32 UART; 'none' against the PTY simulator. */
    parity: parity.default('even'),
    /** The reserved page/sector that holds the credential blob, exactly one erase unit. */
    credentialArea: z.object({ address, size: address }).strict(),
    /** Flash occupied by the firmware, end exclusive; the credential area must not overlap it. */
    firmwareRegion: z.object({ start: address, end: address }).strict(),
    readoutProtection: z.boolean().default(false),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.firmwareRegion.end <= m.firmwareRegion.start)
      ctx.addIssue({
        code: 'custom',
        path: ['firmwareRegion', 'end'],
        message: 'must be greater than firmwareRegion.start',
      });
    const a = m.credentialArea.address;
    const e = a + m.credentialArea.size;
    if (m.credentialArea.size === 0)
      ctx.addIssue({ code: 'custom', path: ['credentialArea', 'size'], message: 'must be > 0' });
    if (a < m.firmwareRegion.end && e > m.firmwareRegion.start)
      ctx.addIssue({
        code: 'custom',
        path: ['credentialArea'],
        message: 'overlaps the firmware region',
      });
  });

const certificatesSection = z
  .object({
    validityDays: z.number().int().min(1).max(36500).default(3650),
    sanMode: z.enum(['plain', 'hashed']).default('plain'),
    /** Salt for sanMode "hashed": 16–128 characters, kept secret from the network. */
    sanSalt: z.string().min(16, 'must be at least 16 characters').max(128).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.sanMode === 'hashed' && !c.sanSalt)
      ctx.addIssue({
        code: 'custom',
        path: ['sanSalt'],
        message: 'is required when sanMode is "hashed"',
      });
  });

const endToEndSection = z
  .object({
    /** The server's P-256 public key for end-to-end messages, uncompressed (65 bytes hex, 04…). */
    serverPublicKeyHex: z
      .string()
      .regex(
        /^04[0-9a-fA-F]{128}$/,
        'must be an uncompressed P-256 point: 130 hex digits starting 04',
      ),
  })
  .strict();

const capsSection = z
  .object({
    /** Most certificate pairs one batch may issue. */
    perBatch: z.number().int().min(1).max(1_000_000),
    /** Most certificate pairs the station may issue in any rolling hour. */
    perHour: z.number().int().min(1).max(1_000_000),
    /** Most pairs all batches of one work order may issue (when the batch names one). */
    perWorkOrder: z.number().int().min(1).max(100_000_000).optional(),
  })
  .strict();

const timeoutsSection = z
  .object({
    identifyMs: timeoutMs.default(15_000),
    modemWriteMs: timeoutMs.default(180_000),
    mcuWriteMs: timeoutMs.default(120_000),
    /** Whole-slot budget; the slot fails at the step it was in when this runs out. */
    slotMs: timeoutMs.default(600_000),
  })
  .strict();

/**
 * The module audit (issue 12): which read-only probes' findings fail the slot, which are
 * kept in the commit record, and the firmware allow/deny lists (docs/audit.md).
 */
const auditSection = auditPolicySchema;

export const productProfileSchema = z
  .object({
    formatVersion: z.literal(1),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 characters of A-Z a-z 0-9 _ . -'),
    description: z.string().max(500).optional(),
    modem: modemSection,
    mcu: mcuSection,
    certificates: certificatesSection.prefault({}),
    endToEnd: endToEndSection,
    caps: capsSection,
    timeouts: timeoutsSection.prefault({}),
    audit: auditSection.prefault({}),
  })
  .strict();

/** A validated profile with every default filled in and addresses as numbers. */
export type ProductProfile = z.output<typeof productProfileSchema>;
/** The profile as written in JSON (addresses may be hex strings, defaults may be omitted). */
export type ProductProfileInput = z.input<typeof productProfileSchema>;
