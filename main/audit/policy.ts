import { z } from 'zod';
import { FINDING_IDS, type Finding, type FindingId } from './findings.ts';

/**
 * What a finding does to the slot. `fail`: the slot aborts naming the finding (nothing is
 * committed, the serials are revoked). `warn`: the slot passes, the finding is recorded and
 * shown to the operator. `record`: the slot passes, the finding is only recorded.
 */
export type AuditAction = 'fail' | 'warn' | 'record';

const action = z.enum(['fail', 'warn', 'record']);

/** A firmware pattern: the version string with `*` / `?` wildcards. */
const firmwarePattern = z
  .string()
  .regex(/^[A-Za-z0-9_.*?:-]{1,80}$/, 'must be 1–80 characters of A-Z a-z 0-9 _ . - : * ?');

/** The default action per finding id (see DEFAULT_AUDIT_POLICY for the reasons). */
const defaultActions: Readonly<Record<FindingId, AuditAction>> = {
  firmware: 'fail',
  'backdoor-command': 'fail',
  'adb-unlock': 'fail',
  'adb-enabled': 'warn',
  'key-readable': 'warn',
  'tls-context': 'fail',
};

const actionsSchema = z
  .object(
    Object.fromEntries(FINDING_IDS.map((id) => [id, action.default(defaultActions[id])])) as {
      [K in FindingId]: z.ZodDefault<typeof action>;
    },
  )
  .strict();

/**
 * The product profile's `audit` section (proposed; the lead merges it into
 * main/profile/schema.ts). Unknown fields and finding ids are refused.
 *
 * ```json
 * "audit": {
 *   "enabled": true,
 *   "actions": { "key-readable": "record", "adb-enabled": "fail" },
 *   "firmwareAllow": ["EC25EFAR06A06M4G*"],
 *   "firmwareDeny": ["EG25GGBR07A07M2G*"]
 * }
 * ```
 */
export const auditPolicySchema = z
  .object({
    /** false skips the audit step entirely (then nothing about the module is recorded). */
    enabled: z.boolean().default(true),
    /** Finding id → action; ids left out take the default. */
    actions: actionsSchema.prefault({}),
    /** When non-empty, firmware matching none of these is a `firmware` finding. */
    firmwareAllow: z.array(firmwarePattern).max(256).default([]),
    /** Firmware known to be vulnerable; a match is a `firmware` finding (high). */
    firmwareDeny: z.array(firmwarePattern).max(256).default([]),
  })
  .strict();

/** A validated policy with every default filled in. */
export type AuditPolicy = z.output<typeof auditPolicySchema>;
/** The policy as written in a profile. */
export type AuditPolicyInput = z.input<typeof auditPolicySchema>;

/**
 * The default: fail what hands the module to an attacker or breaks authentication
 * (a Linux shell over AT, an ADB unlock salt, deny-listed or off-list firmware, a TLS
 * context that does not do mutual TLS 1.2 with the files written); warn on ADB switched on
 * and on a readable key file, which LTE Standard UFS storage allows on much current
 * firmware and which the MCU-sealed payload is designed to survive (docs/threat-model.md).
 * No firmware is deny-listed by default: Quectel publishes no list of affected versions,
 * and the behaviour probes catch the debug paths whatever the version string says.
 */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = deepFreeze(auditPolicySchema.parse({}));

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o))
    if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}

/** What the policy makes of an audit's findings. */
export interface AuditVerdict {
  readonly verdict: 'pass' | 'fail';
  /** Findings whose action is `fail`; the slot aborts naming these. */
  readonly failing: readonly Finding[];
  /** Findings whose action is `warn` or `record`: they go into the commit record. */
  readonly recorded: readonly Finding[];
  /** The subset of `recorded` to show the operator (action `warn`). */
  readonly warnings: readonly Finding[];
}

/**
 * Applies a policy to findings: pure, order-preserving, every finding lands in exactly one
 * of `failing` and `recorded`. A finding with an id the policy does not know (a newer
 * audit against an older policy) fails: an unknown risk is not waved through.
 */
export function applyAuditPolicy(
  findings: readonly Finding[],
  policy: Pick<AuditPolicy, 'actions'>,
): AuditVerdict {
  const failing: Finding[] = [];
  const recorded: Finding[] = [];
  const warnings: Finding[] = [];
  for (const f of findings) {
    const a: AuditAction | undefined = Object.hasOwn(policy.actions, f.id)
      ? policy.actions[f.id]
      : undefined;
    if (a === 'warn' || a === 'record') {
      recorded.push(f);
      if (a === 'warn') warnings.push(f);
    } else failing.push(f);
  }
  return { verdict: failing.length > 0 ? 'fail' : 'pass', failing, recorded, warnings };
}
