import {
  auditModem,
  enforceAuditPolicy,
  expectationFromWrite,
  type AuditPolicy,
  type Finding,
} from '../../audit/index.ts';
import type { AuditHook, FindingLike } from '../ports.ts';

const SUMMARIES: Record<Finding['id'], string> = {
  firmware: 'module firmware is off the allow-list or deny-listed',
  'backdoor-command': 'Linux/debug command answers over AT',
  'adb-unlock': 'AT+QADBKEY? answers an ADB unlock salt',
  'adb-enabled': 'ADB interface is switched on',
  'key-readable': 'written TLS client key can be read back over AT',
  'tls-context': 'TLS context is not mutual TLS 1.2 with the files written',
};

/** A finding as the ledger's commit record carries it. */
export function toLedgerFinding(f: Finding): FindingLike {
  return { id: f.id, severity: f.severity, summary: SUMMARIES[f.id], detail: f.detail };
}

/**
 * The pipeline's audit step (issue 12): the read-only probes of main/audit run on the
 * slot's own AT session right after the credential write. The profile's policy decides:
 * a `fail` finding throws (the slot aborts naming it, nothing is committed, serials are
 * revoked); everything else the policy keeps goes into the commit record.
 */
export function createAuditHook(policy: AuditPolicy, timeoutMs?: number): AuditHook {
  return async ({ slot, modem, signal }) => {
    const driver = modem.driver;
    const write = driver?.lastWrite();
    if (!driver || !write) {
      throw new Error('audit needs the modem session and its credential write report');
    }
    const report = await auditModem(driver.engine, expectationFromWrite(write, policy), {
      signal,
      slot,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    const verdict = enforceAuditPolicy(report, policy, { slot, port: driver.engine.port });
    const keyProbe = report.probes.find((p) => p.id === 'key-readable');
    return {
      findings: verdict.recorded.map(toLedgerFinding),
      ...(keyProbe && keyProbe.outcome !== 'inconclusive'
        ? { modemKeyReadable: keyProbe.outcome === 'finding' }
        : {}),
    };
  };
}
