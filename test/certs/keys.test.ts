import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import {
  createFileSigner,
  decodePkcs8,
  decryptPkcs8,
  encodePkcs8,
  encryptPkcs8,
  fromHex,
  generateEd25519,
  generateP256,
  MalformedInputError,
  pemBytes,
  pemDecodeAll,
  pemEncode,
  spkiFromRaw,
  toHex,
  verifyX509Signature,
  WrongPassphraseError,
} from '../../certs/index.ts';
import { OID } from '../../certs/oids.ts';

// RFC 6979 A.2.5 (P-256, SHA-256, message "sample") and RFC 8032 §7.1 test 1.
const RFC6979 = {
  x: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
  ux: '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6',
  uy: '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299',
  r: 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716',
  s: 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
};
const RFC8032 = {
  secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};

function derSig(rHex: string, sHex: string): Uint8Array {
  const int = (h: string) => {
    let b = fromHex(h);
    while (b.length > 1 && b[0] === 0 && !(b[1] & 0x80)) b = b.subarray(1);
    return b[0] & 0x80
      ? Uint8Array.from([0x02, b.length + 1, 0, ...b])
      : Uint8Array.from([0x02, b.length, ...b]);
  };
  const body = [...int(rHex), ...int(sHex)];
  return Uint8Array.from([0x30, body.length, ...body]);
}

describe('keys, signers and known-answer vectors', () => {
  it('verifies the RFC 6979 P-256/SHA-256 signature, which is high-S (noble defaults would refuse it)', () => {
    const pub = fromHex('04' + RFC6979.ux + RFC6979.uy);
    assert.deepEqual(p256.getPublicKey(fromHex(RFC6979.x), false), pub);
    const msg = new TextEncoder().encode('sample');
    const sig = derSig(RFC6979.r, RFC6979.s);
    assert.equal(
      verifyX509Signature(OID.ecdsaWithSha256, { algorithm: 'p256', raw: pub }, msg, sig),
      true,
    );
    assert.equal(
      p256.verify(sig, msg, pub, { format: 'der' }),
      false,
      'noble default lowS rejects it',
    );
    const other = new TextEncoder().encode('samplf');
    assert.equal(
      verifyX509Signature(OID.ecdsaWithSha256, { algorithm: 'p256', raw: pub }, other, sig),
      false,
    );
  });

  it('the P-256 file signer (OpenSSL) gives hedged, low-S signatures that noble verifies, and wipes the scalar it was given', async () => {
    const secret = fromHex(RFC6979.x);
    const pub = fromHex('04' + RFC6979.ux + RFC6979.uy);
    const signer = createFileSigner({ algorithm: 'p256', secret, publicKey: pub }, 'kat');
    assert.ok(
      secret.every((b) => b === 0),
      'the scalar now lives only inside OpenSSL',
    );
    const msg = new TextEncoder().encode('sample');
    const a = await signer.sign(msg);
    const b = await signer.sign(msg);
    assert.notEqual(toHex(a), toHex(b), 'nonces are fresh per signature');
    const n = p256.Point.CURVE().n;
    for (const sig of [a, b]) {
      // An independent implementation checks OpenSSL's work, in the strict low-S mode.
      assert.ok(p256.verify(sig, msg, pub, { format: 'der', lowS: true }));
      assert.ok(p256.Signature.fromBytes(sig, 'der').s <= n / 2n);
      assert.ok(
        verifyX509Signature(OID.ecdsaWithSha256, { algorithm: 'p256', raw: pub }, msg, sig),
      );
    }
    signer.dispose();
    await assert.rejects(signer.sign(msg), /disposed/i);
  });

  it('generateP256 pairs each fresh scalar with its public point (OpenSSL agrees with noble)', () => {
    for (let i = 0; i < 20; i++) {
      const key = generateP256();
      assert.equal(key.publicKey.length, 65);
      assert.deepEqual(key.publicKey, p256.getPublicKey(key.secret, false));
      key.secret.fill(0);
    }
  });

  it('the Ed25519 file signer matches RFC 8032 test 1', async () => {
    const signer = createFileSigner(
      { algorithm: 'ed25519', secret: fromHex(RFC8032.secret), publicKey: fromHex(RFC8032.pub) },
      'kat',
    );
    assert.equal(toHex(signer.publicKeySpki()), '302a300506032b6570032100' + RFC8032.pub);
    assert.equal(toHex(await signer.sign(new Uint8Array(0))), RFC8032.sig);
    signer.dispose();
  });

  it('PKCS#8 encode/decode round-trips both key types', () => {
    for (const key of [generateP256(), generateEd25519()]) {
      const der = encodePkcs8(key);
      const back = decodePkcs8(der);
      assert.equal(back.algorithm, key.algorithm);
      assert.deepEqual(back.secret, key.secret);
      assert.deepEqual(back.publicKey, key.publicKey);
      assert.equal(spkiFromRaw(key.algorithm, key.publicKey)[0], 0x30);
    }
    assert.throws(
      () => decodePkcs8(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])),
      MalformedInputError,
    );
    const der = encodePkcs8(generateP256());
    assert.throws(() => decodePkcs8(Uint8Array.from([...der, 0])), /trailing bytes/);
  });

  it('PBES2 encryption round-trips and a wrong passphrase is a WrongPassphraseError', async () => {
    const key = generateP256();
    const pkcs8 = encodePkcs8(key);
    const enc = await encryptPkcs8(pkcs8, 'correct horse', { iterations: 1000 });
    assert.deepEqual((await decryptPkcs8(enc, 'correct horse', 'k')).secret, key.secret);
    for (let i = 0; i < 20; i++)
      await assert.rejects(
        decryptPkcs8(enc, `wrong ${i}`, 'test key'),
        (e: unknown) => e instanceof WrongPassphraseError && /test key/.test(e.message),
      );
    await assert.rejects(encryptPkcs8(pkcs8, '', { iterations: 1000 }), MalformedInputError);
  });

  it('PEM built as bytes equals the string PEM for every padding case', () => {
    for (let n = 1; n < 130; n++) {
      const der = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      assert.equal(
        Buffer.from(pemBytes('PRIVATE KEY', der)).toString('latin1'),
        pemEncode('PRIVATE KEY', der),
        `length ${n}`,
      );
      assert.deepEqual(pemDecodeAll(pemEncode('X', der))[0].der, der);
    }
  });
});
