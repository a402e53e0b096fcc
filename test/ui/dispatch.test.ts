import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestChannels } from '../../contract/channels.ts';
import { requestSchemas } from '../../contract/schemas.ts';
import { createDispatcher, runValidated, type Handlers } from '../../main/app/dispatch.ts';
import { StationAppError } from '../../main/app/errors.ts';
import { SecretRegistry } from '../../main/app/secret-guard.ts';
import { z } from 'zod';

/** Handlers that record what reached them, so a refused message provably never did. */
function recordingHandlers(reached: string[]): Handlers {
  return Object.fromEntries(
    requestChannels.map((c) => [
      c,
      async (req: unknown) => {
        reached.push(c);
        return { echoed: req };
      },
    ]),
  ) as unknown as Handlers;
}

test('every contract channel has a strict schema that refuses an extra field', () => {
  for (const channel of requestChannels) {
    const schema = requestSchemas[channel];
    const r = schema.safeParse({ __proto_pollution: 1, extra: true });
    assert.equal(r.success, false, `${channel} accepted an extra field`);
  }
});

test('the dispatcher refuses malformed and extra-field messages before the handler runs', async () => {
  const reached: string[] = [];
  const dispatch = createDispatcher(recordingHandlers(reached));
  const bad: [string, unknown][] = [
    ['station:unlock', { passphrase: 'correct horse', remember: true }],
    ['station:unlock', {}],
    ['station:unlock', { passphrase: 42 }],
    ['station:unlock', null],
    ['station:unlock', 'passphrase'],
    ['batch:start', { slots: [] }],
    ['batch:start', { slots: [{ slot: 1, modemPort: '/dev/a', mcuPort: '/dev/b', baud: 9600 }] }],
    ['batch:start', { slots: [{ slot: 1, modemPort: '/dev/a', mcuPort: '/dev/a' }] }],
    ['batch:start', { slots: [{ slot: 1.5, modemPort: '/dev/a', mcuPort: '/dev/b' }] }],
    ['batch:rerun', { slot: '1' }],
    [
      'layout:save',
      { name: '../../etc/passwd', slots: [{ slot: 1, modemPort: 'a', mcuPort: 'b' }] },
    ],
    ['ledger:revoke', { deviceId: 'kl1-x', reason: 'because' }],
    ['ledger:search', { query: 'x' }],
    ['station:status', { sneaky: 1 }],
  ];
  for (const [channel, request] of bad) {
    const r = await dispatch(channel, request);
    assert.equal(r.ok, false, `${channel} ${JSON.stringify(request)} was accepted`);
    assert.ok(!r.ok && r.code === 'invalid-request' && r.kind === 'operator');
    assert.ok(!r.ok && r.message.startsWith(channel));
  }
  assert.deepEqual(reached, []);
});

test('unknown channels are refused and well-formed messages reach their handler', async () => {
  const reached: string[] = [];
  const dispatch = createDispatcher(recordingHandlers(reached));
  for (const ch of ['shell:exec', '__proto__', 42, undefined]) {
    const r = await dispatch(ch, {});
    assert.ok(!r.ok && r.code === 'invalid-request');
  }
  const ok = await dispatch('batch:rerun', { slot: 3 });
  assert.deepEqual(ok, { ok: true, value: { echoed: { slot: 3 } } });
  assert.deepEqual(reached, ['batch:rerun']);
});

test('errors cross as data: typed app errors keep their code, anything else is a defect', async () => {
  const schema = z.strictObject({});
  const op = await runValidated(
    'x:y',
    schema,
    async () => {
      throw new StationAppError('batch-running', 'a batch is already running', { slot: 2 });
    },
    {},
  );
  assert.deepEqual(op, {
    ok: false,
    code: 'batch-running',
    kind: 'operator',
    message: 'a batch is already running',
    details: { slot: 2 },
  });
  const defect = await runValidated(
    'x:y',
    schema,
    async () => {
      throw new TypeError('cannot read properties of undefined\n    at stack');
    },
    {},
  );
  assert.ok(!defect.ok && defect.code === 'internal' && defect.kind === 'defect');
  assert.ok(!defect.ok && !defect.message.includes('\n'));
  class WrongPassphraseError extends Error {
    override name = 'WrongPassphraseError';
    passphrase = 'hunter2hunter2';
    attemptsLeft = 2;
  }
  const wrong = await runValidated(
    'x:y',
    schema,
    async () => {
      throw new WrongPassphraseError('wrong passphrase');
    },
    {},
  );
  assert.ok(!wrong.ok && wrong.code === 'wrong-passphrase' && wrong.kind === 'operator');
  assert.ok(!wrong.ok && wrong.details.attemptsLeft === 2);
  assert.ok(!JSON.stringify(wrong).includes('hunter2'), 'a secret-named field leaked into details');
});

test('a response carrying a private key or a known passphrase is withheld', async () => {
  const secrets = new SecretRegistry();
  secrets.add('my station passphrase');
  const schema = z.strictObject({});
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
  for (const value of [
    { pem },
    { note: 'my station passphrase' },
    { k: '-----BEGIN EC PRIVATE KEY-----' },
  ]) {
    const r = await runValidated('x:y', schema, async () => value, {}, secrets);
    assert.ok(!r.ok && r.code === 'secret-blocked', JSON.stringify(r));
    assert.ok(
      !JSON.stringify(r).includes('PRIVATE KEY') && !JSON.stringify(r).includes('my station'),
    );
  }
  const cert = await runValidated(
    'x:y',
    schema,
    async () => ({ pem: '-----BEGIN CERTIFICATE-----' }),
    {},
    secrets,
  );
  assert.ok(cert.ok);
});
