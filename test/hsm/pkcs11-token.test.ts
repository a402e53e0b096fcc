import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AttemptGuard,
  UnlockBackoffError,
  UnlockLockedError,
} from '../../main/hsm/attempt-guard.ts';
import { Pkcs11Token, Pkcs11TokenError } from '../../main/hsm/pkcs11-token.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';

describe('PKCS#11 token keys (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let token: Pkcs11Token;
  const cfg = { modulePath: SOFTHSM_MODULE, tokenLabel: 'station' };

  before(() => {
    hsm = createSoftHsm();
    hsm.initToken('station', '123456');
    token = Pkcs11Token.open(cfg, '123456');
  });
  after(() => {
    token?.close();
    hsm.cleanup();
  });

  it('generates a P-256 CA key whose signatures verify under its SPKI', async () => {
    const key = token.generateKeyPair('p256', 'issuing-ca');
    const signer = token.signer(key);
    assert.equal(signer.algorithm, 'ecdsa-p256-sha256');
    const data = new TextEncoder().encode('tbsCertificate bytes');
    const sig = await signer.sign(data);
    const pub = createPublicKey({
      key: Buffer.from(signer.publicKeySpki()),
      format: 'der',
      type: 'spki',
    });
    assert.ok(
      verify('sha256', data, pub, Buffer.from(sig)),
      'DER ECDSA signature verifies with node:crypto',
    );
    assert.ok(!verify('sha256', new TextEncoder().encode('other'), pub, Buffer.from(sig)));
  });

  it('generates an Ed25519 ledger key (CKM_EDDSA) whose signatures verify', async () => {
    assert.ok(token.supportsEd25519());
    const signer = token.signer(token.generateKeyPair('ed25519', 'ledger'));
    const data = new TextEncoder().encode('checkpoint');
    const sig = await signer.sign(data);
    assert.equal(sig.length, 64);
    const pub = createPublicKey({
      key: Buffer.from(signer.publicKeySpki()),
      format: 'der',
      type: 'spki',
    });
    assert.ok(verify(null, data, pub, Buffer.from(sig)));
  });

  it('finds keys again by label in a new session', () => {
    const again = Pkcs11Token.open(cfg, '123456');
    try {
      const k = again.findKey('issuing-ca');
      assert.ok(k);
      assert.equal(k.kind, 'p256');
      assert.equal(again.findKey('nope'), null);
    } finally {
      again.close();
    }
  });

  it('never lets the CA key out: CKA_VALUE and C_WrapKey both refused, flags sensitive/never-extractable', () => {
    const key = token.findKey('issuing-ca');
    assert.ok(key);
    assert.equal(token.tryReadPrivateValue(key), 'CKR_ATTRIBUTE_SENSITIVE');
    const wrap = token.tryWrapPrivateKey(key);
    assert.notEqual(wrap, 'returned');
    assert.match(wrap, /^CKR_(KEY_UNEXTRACTABLE|KEY_NOT_WRAPPABLE|ATTRIBUTE_SENSITIVE)/);
    assert.deepEqual(token.keyFlags(key), {
      sensitive: true,
      extractable: false,
      neverExtractable: true,
    });
    const keys = hsm.listPrivateKeys('station', '123456');
    const block = keys.find((b) => b.includes('issuing-ca'));
    assert.ok(block, keys.join('\n'));
    assert.match(block, /Access:\s+.*sensitive/);
    assert.match(block, /never extractable/);
  });

  it('a wrong PIN is refused even while this process is logged in to the token', () => {
    // PKCS#11 answers CKR_USER_ALREADY_LOGGED_IN to any PIN once one session logged in.
    assert.throws(
      () => Pkcs11Token.open(cfg, '654321'),
      (e: unknown) => e instanceof Pkcs11TokenError && e.code === 'wrong-pin',
    );
    const again = Pkcs11Token.open(cfg, '123456');
    again.close();
  });

  it('refuses a wrong PIN with a typed error and a missing token by name', () => {
    assert.throws(
      () => Pkcs11Token.open({ ...cfg, tokenLabel: 'other' }, '123456'),
      (e: unknown) => e instanceof Pkcs11TokenError && e.code === 'no-token',
    );
  });
});

describe('AttemptGuard: PIN/passphrase back-off and lock that survive a restart', () => {
  let hsm: SoftHsm;
  before(() => {
    hsm = createSoftHsm();
    hsm.initToken('guarded', '246810');
  });
  after(() => hsm.cleanup());

  it('ten wrong PINs back off, then lock; still locked after a restart; a right PIN is refused while locked', async () => {
    let clock = 1_000_000;
    const stateFile = join(hsm.dir, 'unlock-guard.json');
    const mk = () =>
      new AttemptGuard({ stateFile, maxFailures: 10, baseDelayMs: 1000, now: () => clock });
    const cfg = { modulePath: SOFTHSM_MODULE, tokenLabel: 'guarded' };
    const isWrong = (e: unknown) => e instanceof Pkcs11TokenError && e.code === 'wrong-pin';
    let guard = mk();
    for (let i = 1; i <= 10; i++) {
      const err = await guard
        .guard(() => Pkcs11Token.open(cfg, '000000'), isWrong)
        .catch((e: unknown) => e);
      if (i < 10) assert.ok(isWrong(err), `attempt ${i}: ${String(err)}`);
      else assert.ok(err instanceof UnlockLockedError, `attempt 10 locks: ${String(err)}`);
      if (i < 10) {
        // Immediately trying again is refused without touching the token.
        const early = await guard
          .guard(() => Pkcs11Token.open(cfg, '246810'), isWrong)
          .catch((e: unknown) => e);
        assert.ok(early instanceof UnlockBackoffError, `back-off after failure ${i}`);
        assert.equal(early.retryAfterMs, guard.delayAfter(i));
        clock += guard.delayAfter(i);
      }
    }
    guard = mk(); // a restart: fresh object, same state file
    assert.ok(guard.locked);
    clock += 24 * 3600_000;
    const right = await guard
      .guard(() => Pkcs11Token.open(cfg, '246810'), isWrong)
      .catch((e: unknown) => e);
    assert.ok(right instanceof UnlockLockedError);
    assert.match((right as Error).message, /locked after 10 wrong attempts/);
  });

  it('a success resets the count', async () => {
    let clock = 0;
    const guard = new AttemptGuard({
      stateFile: join(hsm.dir, 'g2.json'),
      baseDelayMs: 10,
      now: () => clock,
    });
    guard.recordFailure();
    clock += 10;
    await guard.guard(
      () => 'ok',
      () => true,
    );
    assert.equal(guard.failures, 0);
  });
});
