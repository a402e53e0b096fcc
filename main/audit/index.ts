/**
 * The module's own attack surface, audited on the line (issue 12): a fixed list of
 * read-only probes run through a command gate that cannot send a set or exec form, and a
 * pure policy that turns findings into pass/fail. See docs/audit.md.
 */
export {
  auditModem,
  type AuditExpectation,
  type AuditOptions,
  type AuditReport,
} from './audit-modem.ts';
export {
  isReadOnlyCommand,
  KEY_READ_MAX_BYTES,
  READ_ONLY_COMMAND_SHAPES,
  ReadOnlyCommandGate,
  type CommandShape,
} from './command-gate.ts';
export {
  AuditAbortedError,
  AuditError,
  AuditGateError,
  AuditInputError,
  type AuditErrorContext,
} from './errors.ts';
export {
  AUDIT_PROBES,
  FINDING_IDS,
  probeSeverity,
  type Finding,
  type FindingId,
  type ProbeDescription,
  type ProbeOutcome,
  type ProbeRecord,
  type Severity,
} from './findings.ts';
export { firmwareMatches } from './firmware-match.ts';
export {
  applyAuditPolicy,
  auditPolicySchema,
  DEFAULT_AUDIT_POLICY,
  type AuditAction,
  type AuditPolicy,
  type AuditPolicyInput,
  type AuditVerdict,
} from './policy.ts';
export type { ModuleFirmware } from './probes/firmware.ts';
export {
  AuditPolicyFailedError,
  enforceAuditPolicy,
  expectationFromWrite,
  keyPrefixFromPem,
} from './wiring.ts';
