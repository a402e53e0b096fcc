import type { ModemWriteReport } from '../modem/credential-writer.ts';
import { pemToModemBytes } from '../modem/pem.ts';
import type { AuditExpectation, AuditReport } from './audit-modem.ts';
import { KEY_READ_MAX_BYTES } from './command-gate.ts';
import { AuditError, AuditInputError, type AuditErrorContext } from './errors.ts';
import type { Finding } from './findings.ts';
import { applyAuditPolicy, type AuditPolicy, type AuditVerdict } from './policy.ts';

/**
 * The first 16 bytes of the client key exactly as the modem driver writes it (PEM with LF
 * line ends), for `AuditExpectation.keyPrefix`. The caller zeroes the result after the
 * audit. With PEM these bytes are the armour line (`-----BEGIN EC PR`), so a match shows
 * the file read back is a private key file of that type; which key it is needs more than
 * the 16 bytes the audit may read (docs/audit.md).
 */
export function keyPrefixFromPem(clientKeyPem: string, context: AuditErrorContext): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = pemToModemBytes(clientKeyPem, 'client key', { port: context.port, slot: context.slot });
  } catch (e) {
    throw new AuditInputError(context, 'the client key is not a PEM block', { cause: e });
  }
  const prefix = bytes.slice(0, KEY_READ_MAX_BYTES);
  bytes.fill(0);
  return prefix;
}

/**
 * The expectation for auditing a module right after `QuectelModem.writeTlsCredentials`:
 * the files and context of the write, the firmware lists of the profile's audit policy.
 */
export function expectationFromWrite(
  write: ModemWriteReport,
  policy: Pick<AuditPolicy, 'firmwareAllow' | 'firmwareDeny'>,
  keyPrefix?: Uint8Array,
): AuditExpectation {
  const name = (role: 'cacert' | 'clientcert' | 'clientkey'): string => {
    const f = write.files.find((x) => x.role === role);
    if (!f) throw new RangeError(`the write report has no ${role} file`);
    return f.name;
  };
  return {
    family: write.family,
    keyFileName: name('clientkey'),
    keyPrefix,
    tlsContext: write.ctx,
    caFile: name('cacert'),
    certFile: name('clientcert'),
    keyFile: name('clientkey'),
    firmwareAllow: policy.firmwareAllow,
    firmwareDeny: policy.firmwareDeny,
  };
}

/** The profile's policy failed the module; `failing` names the findings (slot aborts). */
export class AuditPolicyFailedError extends AuditError {
  override name = 'AuditPolicyFailedError';
  constructor(
    context: AuditErrorContext,
    readonly failing: readonly Finding[],
    /** Findings the policy did not fail; they belong in the abort record too. */
    readonly recorded: readonly Finding[],
  ) {
    super(
      context,
      `module failed the audit: ${failing.map((f) => `${f.id} (${f.severity}): ${f.detail}`).join('; ')}`,
    );
  }
}

/**
 * Applies the policy to a report; returns the verdict when it passes (the commit record
 * carries `verdict.recorded`), throws AuditPolicyFailedError naming the failing findings.
 */
export function enforceAuditPolicy(
  report: AuditReport,
  policy: Pick<AuditPolicy, 'actions'>,
  context: AuditErrorContext,
): AuditVerdict {
  const verdict = applyAuditPolicy(report.findings, policy);
  if (verdict.verdict === 'fail')
    throw new AuditPolicyFailedError(context, verdict.failing, verdict.recorded);
  return verdict;
}
