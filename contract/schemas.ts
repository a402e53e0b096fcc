/**
 * One zod schema per request channel. Every object is strict: a message with an extra
 * field is refused, not silently trimmed. Main validates every incoming message against
 * these (main/app/dispatch.ts); the renderer imports only the inferred types.
 */
import { z } from 'zod';

const slotNumber = z.number().int().min(1).max(64);
const portPath = z.string().min(1).max(512);
const dirPath = z.string().min(1).max(4096);
/** Passphrases travel renderer → main only; no response ever carries one back. */
const passphrase = z.string().min(8).max(1024);

export const slotAssignmentSchema = z.strictObject({
  slot: slotNumber,
  modemPort: portPath,
  mcuPort: portPath,
});

const slotList = z
  .array(slotAssignmentSchema)
  .min(1)
  .max(64)
  .refine((s) => new Set(s.map((a) => a.slot)).size === s.length, 'slot numbers must be unique')
  .refine((s) => {
    const ports = s.flatMap((a) => [a.modemPort, a.mcuPort]);
    return new Set(ports).size === ports.length;
  }, 'a port can serve only one slot and one role');

const empty = z.strictObject({});

export const requestSchemas = {
  'station:status': empty,
  'station:open': z.strictObject({ dir: dirPath }),
  'station:create': z.strictObject({
    dir: dirPath,
    passphrase,
    organization: z.string().min(1).max(64),
  }),
  'station:import-ca': z.strictObject({
    dir: dirPath,
    passphrase,
    caCertPath: dirPath,
    caKeyPath: dirPath,
    caKeyPassphrase: z.string().max(1024),
  }),
  'station:unlock': z.strictObject({ passphrase: z.string().min(1).max(1024) }),
  'station:lock': empty,
  'profile:select': z.strictObject({ name: z.string().min(1).max(128) }),
  'ports:list': empty,
  'layout:list': empty,
  'layout:save': z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'letters, digits, space, _ . - (max 64)'),
    slots: slotList,
  }),
  'layout:load': z.strictObject({ name: z.string().min(1).max(64) }),
  'fixture:start-virtual': z.strictObject({ slots: z.number().int().min(1).max(16) }),
  'fixture:stop-virtual': empty,
  'fixture:status': empty,
  'fixture:inject-fault': z.strictObject({ slot: slotNumber, fault: z.string().min(1).max(64) }),
  'batch:start': z.strictObject({ slots: slotList }),
  'batch:stop': empty,
  'batch:rerun': z.strictObject({ slot: slotNumber }),
  'batch:state': empty,
  'ledger:search': z.strictObject({
    query: z.string().max(128),
    limit: z.number().int().min(1).max(500),
  }),
  'ledger:device': z.strictObject({ deviceId: z.string().min(1).max(128) }),
  'ledger:revoke': z.strictObject({
    deviceId: z.string().min(1).max(128),
    reason: z.enum(['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified']),
  }),
  'ledger:export': z.strictObject({ outDir: dirPath }),
} as const;

/** Envelope of one call over the loopback bridge. */
export const bridgeCallSchema = z.strictObject({
  type: z.literal('call'),
  id: z.number().int().nonnegative(),
  channel: z.string().min(1).max(64),
  request: z.unknown(),
});
