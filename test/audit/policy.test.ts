import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAuditPolicy,
  auditPolicySchema,
  DEFAULT_AUDIT_POLICY,
  FINDING_IDS,
  firmwareMatches,
  probeSeverity,
  type AuditAction,
  type Finding,
  type FindingId,
} from '../../main/audit/index.ts';

const finding = (id: FindingId, detail = `${id} detail`): Finding => ({
  id,
  severity: probeSeverity(id),
  detail,
});
const actions = ['fail', 'warn', 'record'] as const;
const policyWith = (over: Partial<Record<FindingId, AuditAction>>) =>
  auditPolicySchema.parse({ actions: over });

describe('applyAuditPolicy', () => {
  it('no findings pass under any policy', () => {
    for (const a of actions) {
      const p = policyWith(Object.fromEntries(FINDING_IDS.map((id) => [id, a])));
      assert.deepEqual(applyAuditPolicy([], p), {
        verdict: 'pass',
        failing: [],
        recorded: [],
        warnings: [],
      });
    }
  });

  it('every id under every action: fail fails naming it, warn and record pass and record it', () => {
    for (const id of FINDING_IDS)
      for (const a of actions) {
        const f = finding(id);
        const v = applyAuditPolicy([f], policyWith({ [id]: a }));
        if (a === 'fail')
          assert.deepEqual(
            v,
            { verdict: 'fail', failing: [f], recorded: [], warnings: [] },
            `${id} ${a}`,
          );
        else
          assert.deepEqual(
            v,
            { verdict: 'pass', failing: [], recorded: [f], warnings: a === 'warn' ? [f] : [] },
            `${id} ${a}`,
          );
      }
  });

  it('every combination of actions over all six findings partitions them, in order', () => {
    const all = FINDING_IDS.map((id) => finding(id));
    // 3^6 = 729 policies
    for (let n = 0; n < 3 ** FINDING_IDS.length; n++) {
      const chosen: Partial<Record<FindingId, AuditAction>> = {};
      let k = n;
      for (const id of FINDING_IDS) {
        chosen[id] = actions[k % 3];
        k = Math.floor(k / 3);
      }
      const v = applyAuditPolicy(all, policyWith(chosen));
      const want = (a: AuditAction) => all.filter((f) => chosen[f.id] === a);
      assert.deepEqual(v.failing, want('fail'));
      assert.deepEqual(
        v.recorded,
        all.filter((f) => chosen[f.id] !== 'fail'),
      );
      assert.deepEqual(v.warnings, want('warn'));
      assert.equal(v.verdict, want('fail').length > 0 ? 'fail' : 'pass');
    }
  });

  it('one failing finding among recorded ones fails the slot; the others are still recorded', () => {
    const fs = [finding('key-readable'), finding('backdoor-command'), finding('adb-enabled')];
    const v = applyAuditPolicy(fs, DEFAULT_AUDIT_POLICY);
    assert.equal(v.verdict, 'fail');
    assert.deepEqual(v.failing, [fs[1]]);
    assert.deepEqual(v.recorded, [fs[0], fs[2]]);
    assert.deepEqual(v.warnings, [fs[0], fs[2]]);
  });

  it('a finding id the policy does not know fails (newer audit, older policy)', () => {
    const odd = { id: 'modem-selfdestruct', severity: 'low', detail: 'x' } as unknown as Finding;
    const v = applyAuditPolicy([odd], DEFAULT_AUDIT_POLICY);
    assert.deepEqual(v, { verdict: 'fail', failing: [odd], recorded: [], warnings: [] });
    // Inherited properties are not actions either.
    const proto = { id: 'toString', severity: 'low', detail: 'x' } as unknown as Finding;
    assert.equal(applyAuditPolicy([proto], DEFAULT_AUDIT_POLICY).verdict, 'fail');
  });

  it('does not change its inputs', () => {
    const fs = Object.freeze([Object.freeze(finding('firmware'))]);
    applyAuditPolicy(fs, DEFAULT_AUDIT_POLICY);
    assert.equal(fs.length, 1);
  });
});

describe('auditPolicySchema and DEFAULT_AUDIT_POLICY', () => {
  it('the default fails shell, ADB unlock, firmware and TLS; warns on ADB on and a readable key', () => {
    assert.deepEqual(DEFAULT_AUDIT_POLICY, {
      enabled: true,
      actions: {
        firmware: 'fail',
        'backdoor-command': 'fail',
        'adb-unlock': 'fail',
        'adb-enabled': 'warn',
        'key-readable': 'warn',
        'tls-context': 'fail',
      },
      firmwareAllow: [],
      firmwareDeny: [],
    });
    assert.ok(
      Object.isFrozen(DEFAULT_AUDIT_POLICY) && Object.isFrozen(DEFAULT_AUDIT_POLICY.actions),
    );
    assert.throws(() => {
      (DEFAULT_AUDIT_POLICY.firmwareDeny as string[]).push('x');
    }, TypeError);
  });

  it('ids left out take the default; given ones override', () => {
    const p = auditPolicySchema.parse({
      actions: { 'key-readable': 'fail' },
      firmwareDeny: ['EG25*'],
    });
    assert.equal(p.actions['key-readable'], 'fail');
    assert.equal(p.actions['adb-enabled'], 'warn');
    assert.deepEqual(p.firmwareDeny, ['EG25*']);
    assert.equal(p.enabled, true);
  });

  it('refuses unknown ids, unknown actions, unknown fields and odd patterns', () => {
    for (const bad of [
      { actions: { 'adb-open': 'fail' } },
      { actions: { firmware: 'ignore' } },
      { actions: { firmware: 'FAIL' } },
      { policy: 'record' },
      { enabled: 'yes' },
      { firmwareAllow: [''] },
      { firmwareAllow: ['EC25 "x"'] },
      { firmwareDeny: ['a'.repeat(81)] },
      { firmwareDeny: 'EC25*' },
    ])
      assert.equal(auditPolicySchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

describe('firmware patterns', () => {
  it('match the whole version, case-insensitively, with * and ?', () => {
    assert.ok(firmwareMatches('EC25EFAR06A06M4G', 'ec25efar06a06m4g'));
    assert.ok(firmwareMatches('EC25EFAR06A0?M4G*', 'EC25EFAR06A07M4G_01.001.01.001'));
    assert.ok(firmwareMatches('*', 'anything'));
    assert.ok(!firmwareMatches('EC25EFAR06A06M4G', 'EC25EFAR06A06M4G_01.001.01.001'));
    assert.ok(!firmwareMatches('EC25EFAR06A0?M4G', 'EC25EFAR06A1xM4G'));
    assert.ok(!firmwareMatches('EC25.FAR', 'EC25EFAR'), 'a dot is a dot');
    assert.ok(!firmwareMatches('BG96*', 'xBG96MAR02A07M1G'));
  });
});
