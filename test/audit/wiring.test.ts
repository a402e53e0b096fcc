import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuditInputError,
  AuditPolicyFailedError,
  auditModem,
  auditPolicySchema,
  DEFAULT_AUDIT_POLICY,
  enforceAuditPolicy,
  expectationFromWrite,
  keyPrefixFromPem,
} from '../../main/audit/index.ts';
import type { ModemPersonality } from '../../sim/modem/index.ts';
import { openModem, startSimBoard, testCredentials } from './helpers.ts';

const ctx = { port: '/dev/pts/x', slot: 3 };

async function auditWithPolicy(personality: ModemPersonality, policyInput: unknown) {
  const policy = auditPolicySchema.parse(policyInput);
  const board = await startSimBoard({ personality });
  try {
    const modem = await openModem(board);
    try {
      const creds = testCredentials(1);
      const write = await modem.writeTlsCredentials(creds);
      const prefix = keyPrefixFromPem(creds.clientKeyPem, ctx);
      try {
        const report = await auditModem(modem.engine, expectationFromWrite(write, policy, prefix));
        return { report, run: () => enforceAuditPolicy(report, policy, ctx) };
      } finally {
        prefix.fill(0);
      }
    } finally {
      await modem.close();
    }
  } finally {
    await board.close();
  }
}

describe('pipeline wiring helpers', () => {
  it('keyPrefixFromPem: the first 16 bytes as written (CRLF normalised), typed error otherwise', () => {
    const pem = testCredentials().clientKeyPem;
    const lf = keyPrefixFromPem(pem, ctx);
    assert.equal(lf.length, 16);
    assert.deepEqual(lf, keyPrefixFromPem(pem.replace(/\n/g, '\r\n'), ctx));
    assert.equal(Buffer.from(lf).toString('latin1'), pem.slice(0, 16));
    assert.throws(() => keyPrefixFromPem('not a key', ctx), AuditInputError);
  });

  it('hardened under the default policy: passes with nothing to record', async () => {
    const { run } = await auditWithPolicy('hardened', {});
    assert.deepEqual(run(), { verdict: 'pass', failing: [], recorded: [], warnings: [] });
  });

  it('exposed under the default policy: fails naming the shell and the ADB salt; the rest recorded', async () => {
    const { run } = await auditWithPolicy('exposed', {});
    assert.throws(run, (e) => {
      assert.ok(e instanceof AuditPolicyFailedError);
      assert.deepEqual(
        e.failing.map((f) => f.id),
        ['backdoor-command', 'adb-unlock'],
      );
      assert.deepEqual(
        e.recorded.map((f) => f.id),
        ['adb-enabled', 'key-readable'],
      );
      assert.match(
        e.message,
        /^slot 3 \(\/dev\/pts\/x\) audit: module failed the audit: backdoor-command \(critical\)/,
      );
      return true;
    });
  });

  it('exposed with a lenient profile passes and records; the profile firmware deny-list reaches the probe', async () => {
    const lenient = {
      actions: { 'backdoor-command': 'record', 'adb-unlock': 'warn', firmware: 'record' },
      firmwareDeny: ['EC25EFAR06A06M4G*'],
    };
    const { report, run } = await auditWithPolicy('exposed', lenient);
    const v = run();
    assert.equal(v.verdict, 'pass');
    assert.deepEqual(
      v.recorded.map((f) => f.id),
      ['firmware', 'backdoor-command', 'adb-unlock', 'adb-enabled', 'key-readable'],
    );
    assert.deepEqual(
      v.warnings.map((f) => f.id),
      ['adb-unlock', 'adb-enabled', 'key-readable'],
    );
    assert.match(report.findings[0].detail, /deny-list/);
    assert.match(report.findings.at(-1)!.detail, /they match the key written/);
    assert.equal(DEFAULT_AUDIT_POLICY.actions['backdoor-command'], 'fail');
  });
});
