import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import * as pkijs from 'pkijs';
import * as asn1js from 'asn1js';
import {
  createFileSigner,
  decodePkcs8,
  describeCertificate,
  generateP256,
  hardwareIdsFromSanUris,
  hashIdForSan,
  IssuanceError,
  parseCertificate,
  pemDecodeAll,
  pemEncode,
  planDeviceCertificates,
  ProfileError,
  sha256Hex,
  signDevicePlan,
  SignerDisposedError,
  type Issuer,
} from '../../certs/index.ts';
import { BOARD, devCa, makeTempDir } from './helpers.ts';

describe('device issuance (plan → sign)', () => {
  const tmp = makeTempDir('issuance');
  let issuer: Issuer;
  let issuingDer: Uint8Array;
  before(async () => {
    const d = await devCa(tmp.dir);
    issuer = d.issuer;
    issuingDer = d.ca.issuing.certificateDer;
  });
  after(() => {
    issuer.signer.dispose();
    tmp.cleanup();
  });

  it('signs exactly the planned TBS bytes (ledger intent hash = certificate TBS hash)', async () => {
    const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
    const issued = await signDevicePlan(plan, issuer);
    for (const role of ['modem', 'mcu'] as const) {
      const parsed = parseCertificate(issued[role].certificateDer);
      assert.equal(sha256Hex(parsed.tbsDer), plan[role].tbsSha256Hex, `${role} TBS hash`);
      assert.equal(parsed.serialHex, plan[role].serialHex);
      assert.equal(parsed.notAfter.getTime(), plan[role].notAfter.getTime());
    }
    issued.zeroize();
  });

  it('binds the device ID, role and hardware IDs (RFC 7254 IMEI URN) and sets the profile', async () => {
    const plan = planDeviceCertificates({
      ids: BOARD,
      issuerCertificateDer: issuingDer,
      profile: { validityDays: 30 },
    });
    const issued = await signDevicePlan(plan, issuer);
    for (const role of ['modem', 'mcu'] as const) {
      const d = describeCertificate(issued[role].certificatePem);
      assert.equal(d.commonName, 'kl1-70f85d3f9036f695f8508881');
      assert.equal(d.role, role);
      assert.equal(d.organization, 'Acme');
      assert.deepEqual(d.sanUris, [
        'urn:gsma:imei:49015420-323751-8',
        'urn:keyline:iccid:8944500102198304826F',
        'urn:keyline:mcu-uid:3a0021000b51333233353530',
      ]);
      assert.deepEqual(d.hardwareIds, BOARD);
      assert.deepEqual(d.keyUsage, ['digitalSignature']);
      assert.deepEqual(d.extendedKeyUsage, ['1.3.6.1.5.5.7.3.2']);
      assert.equal(d.isCa, false);
      assert.equal(Math.round((d.notAfter.getTime() - d.notBefore.getTime()) / 86_400_000), 30);
      assert.ok(d.notBefore.getTime() <= Date.now());
      assert.equal(d.issuer, 'CN=Acme Issuing CA,O=Acme');
      assert.equal(d.fingerprintSha256Hex, issued[role].fingerprintSha256Hex);
      assert.equal(
        d.authorityKeyIdentifierHex,
        describeCertificate(issuingDer).subjectKeyIdentifierHex,
      );
    }
    issued.zeroize();
  });

  it('draws random positive 128-bit serials, distinct per certificate', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
      for (const s of [plan.modem.serialHex, plan.mcu.serialHex]) {
        assert.match(s, /^[0-9a-f]{32}$/);
        assert.notEqual(s.slice(0, 2), '00');
        seen.add(s);
      }
      plan.zeroize();
    }
    assert.equal(seen.size, 40);
  });

  it('returns private keys that match the certificates, and zeroize() wipes them', async () => {
    const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
    const issued = await signDevicePlan(plan, issuer);
    for (const role of ['modem', 'mcu'] as const) {
      const c = issued[role];
      const key = decodePkcs8(c.privateKeyPkcs8!);
      assert.deepEqual(key.publicKey, c.publicKey);
      assert.deepEqual(describeCertificate(c.certificateDer).publicKey.raw, c.publicKey);
      // PEM bytes are the same key as the DER
      const pem = Buffer.from(c.privateKeyPem!).toString('latin1');
      assert.deepEqual(pemDecodeAll(pem)[0].der, c.privateKeyPkcs8);
      assert.equal(pem, pemEncode('PRIVATE KEY', c.privateKeyPkcs8!));
      key.secret.fill(0);
    }
    issued.zeroize();
    for (const role of ['modem', 'mcu'] as const) {
      assert.ok(issued[role].privateKeyPkcs8!.every((b) => b === 0));
      assert.ok(issued[role].privateKeyPem!.every((b) => b === 0));
    }
  });

  it('keeps secrets out of the plan as serialised for the ledger', async () => {
    const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
    const text = JSON.stringify(plan);
    const json = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), [
      'deviceId',
      'ids',
      'issuerFingerprintSha256Hex',
      'mcu',
      'modem',
      'sanUris',
    ]);
    const modem = json.modem as Record<string, unknown>;
    assert.equal(modem.publicKeyHex, Buffer.from(plan.modem.publicKey).toString('hex'));
    assert.equal(modem.notAfter, plan.modem.notAfter.toISOString());
    const issued = await signDevicePlan(plan, issuer);
    for (const role of ['modem', 'mcu'] as const) {
      const key = decodePkcs8(issued[role].privateKeyPkcs8!);
      assert.ok(
        !text.includes(Buffer.from(key.secret).toString('hex')),
        `${role} key not in the JSON`,
      );
      key.secret.fill(0);
    }
    issued.zeroize();
  });

  it('reads IMEI URNs with RFC 7254 parameters', () => {
    assert.deepEqual(hardwareIdsFromSanUris(['urn:gsma:imei:49015420-323751-8;svn=42']).ids, {
      imei: BOARD.imei,
    });
  });

  it('is verified by pkijs with the WebCrypto engine (an independent verifier)', async () => {
    const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
    const issued = await signDevicePlan(plan, issuer);
    const cert = pkijs.Certificate.fromBER(Buffer.from(issued.modem.certificateDer));
    const ca = pkijs.Certificate.fromBER(Buffer.from(issuingDer));
    assert.equal(await cert.verify(ca), true);
    issued.zeroize();
  });

  it('hashed SAN mode puts salted hashes instead of the IDs', async () => {
    const salt = 'line-7-salt-0123456789';
    const plan = planDeviceCertificates({
      ids: BOARD,
      issuerCertificateDer: issuingDer,
      profile: { sanMode: 'hashed', sanSalt: salt },
    });
    const issued = await signDevicePlan(plan, issuer);
    const d = describeCertificate(issued.modem.certificateDer);
    assert.deepEqual(d.hardwareIds, {});
    assert.equal(d.hardwareIdHashes.imei, hashIdForSan('imei', BOARD.imei, salt));
    assert.equal(d.hardwareIdHashes.iccid, hashIdForSan('iccid', BOARD.iccid, salt));
    assert.equal(d.hardwareIdHashes.mcuUid, hashIdForSan('mcuUid', BOARD.mcuUid, salt));
    const der = Buffer.from(issued.modem.certificateDer);
    assert.equal(der.indexOf(BOARD.imei), -1, 'the plain IMEI is not in the certificate');
    assert.equal(der.indexOf(BOARD.iccid), -1);
    assert.notEqual(
      hashIdForSan('imei', BOARD.imei, 'another-salt-0123456'),
      d.hardwareIdHashes.imei,
    );
    issued.zeroize();
    assert.throws(
      () =>
        planDeviceCertificates({
          ids: BOARD,
          issuerCertificateDer: issuingDer,
          profile: { sanMode: 'hashed' },
        }),
      (e: unknown) => e instanceof ProfileError && e.field === 'sanSalt',
    );
  });

  it('refuses validity beyond the issuing CA and bad profiles', () => {
    assert.throws(
      () =>
        planDeviceCertificates({
          ids: BOARD,
          issuerCertificateDer: issuingDer,
          profile: { validityDays: 36000 },
        }),
      (e: unknown) => e instanceof IssuanceError && /after the issuing CA expires/.test(e.message),
    );
    assert.throws(
      () =>
        planDeviceCertificates({
          ids: BOARD,
          issuerCertificateDer: issuingDer,
          profile: { validityDays: 0 },
        }),
      (e: unknown) => e instanceof ProfileError && e.field === 'validityDays',
    );
  });

  it('refuses a signer that does not hold the issuing CA key, and wipes the plan', async () => {
    const plan = planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuingDer });
    const stranger = createFileSigner(generateP256(), 'memory:stranger');
    await assert.rejects(
      signDevicePlan(plan, { certificateDer: issuingDer, signer: stranger }),
      (e: unknown) => e instanceof IssuanceError && /does not hold the key/.test(e.message),
    );
    await assert.rejects(signDevicePlan(plan, issuer), /already signed or zeroized/);
    stranger.dispose();
  });

  it('a disposed signer refuses to sign', async () => {
    const signer = createFileSigner(generateP256(), 'memory:x');
    signer.dispose();
    await assert.rejects(signer.sign(new Uint8Array([1])), SignerDisposedError);
  });

  it('file signer signatures verify as DER ECDSA over SHA-256', async () => {
    const key = generateP256();
    const pub = key.publicKey.slice();
    const signer = createFileSigner(key, 'memory:y');
    const msg = new TextEncoder().encode('tbs bytes');
    const sig = await signer.sign(msg);
    assert.equal(sig[0], 0x30);
    assert.ok(p256.verify(sig, msg, pub, { format: 'der', prehash: true, lowS: false }));
    const spki = asn1js.fromBER(signer.publicKeySpki());
    assert.equal(spki.offset, 91);
    signer.dispose();
    assert.ok(
      key.secret.every((b) => b === 0),
      'dispose wiped the key',
    );
  });
});
