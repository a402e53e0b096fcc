import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ChainVerificationError,
  createFileSigner,
  decodePkcs8,
  issueCaCertificate,
  parseCertificate,
  pemEncode,
  planDeviceCertificates,
  signDevicePlan,
  spkiFromRaw,
  generateP256,
  verifyChain,
  type ChainFailure,
  type DevelopmentCa,
  type IssuedDevice,
  type Issuer,
} from '../../certs/index.ts';
import { derTlv } from '../../certs/der.ts';
import {
  encodeExtension,
  encodeName,
  encodeTbsCertificate,
  randomSerial,
  signTbs,
} from '../../certs/x509-build.ts';
import { OID } from '../../certs/oids.ts';
import { BOARD, devCa, makeTempDir, openssl } from './helpers.ts';

function failsWith(reason: ChainFailure, depth: number) {
  return (e: unknown) => {
    assert.ok(
      e instanceof ChainVerificationError,
      `expected ChainVerificationError, got ${String(e)}`,
    );
    assert.equal(e.reason, reason, e.message);
    assert.equal(e.depth, depth, e.message);
    return true;
  };
}

describe('verifyChain (pure TypeScript)', () => {
  const tmp = makeTempDir('chain');
  let ca: DevelopmentCa;
  let issuer: Issuer;
  let device: IssuedDevice;
  before(async () => {
    const d = await devCa(tmp.dir);
    ca = d.ca;
    issuer = d.issuer;
    device = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuer.certificateDer }),
      issuer,
    );
  });
  after(() => {
    device.zeroize();
    issuer.signer.dispose();
    tmp.cleanup();
  });

  it('accepts leaf → issuing → root, intermediates in any order among unrelated ones', async () => {
    const other = await devCa(tmp.dir, 'Other');
    const r = verifyChain(
      device.modem.certificatePem,
      [other.ca.issuing.certificateDer, ca.issuing.certificateDer],
      ca.root.certificateDer,
    );
    assert.deepEqual(
      r.path.map((c) => c.commonName),
      [device.deviceId, 'Acme Issuing CA', 'Acme Development Root CA'],
    );
    other.issuer.signer.dispose();
  });

  it('refuses another root, a missing intermediate, and a forged signature', async () => {
    const other = await devCa(tmp.dir, 'Other');
    assert.throws(
      () =>
        verifyChain(
          device.modem.certificateDer,
          [ca.issuing.certificateDer],
          other.ca.root.certificateDer,
        ),
      failsWith('no-issuer', 1),
    );
    assert.throws(
      () =>
        verifyChain(
          device.modem.certificateDer,
          [ca.issuing.certificateDer, ca.root.certificateDer],
          other.ca.root.certificateDer,
        ),
      failsWith('untrusted-root', 2),
    );
    assert.throws(
      () => verifyChain(device.modem.certificateDer, [], ca.root.certificateDer),
      failsWith('no-issuer', 0),
    );
    const forged = device.modem.certificateDer.slice();
    forged[forged.length - 3] ^= 0x40;
    assert.throws(
      () => verifyChain(forged, [ca.issuing.certificateDer], ca.root.certificateDer),
      failsWith('bad-signature', 0),
    );
    // same names and key ids, different key: a look-alike issuing CA
    const lookAlike = await issueCaCertificate({
      subject: [
        { oid: OID.organizationName, value: 'Acme' },
        { oid: OID.commonName, value: 'Acme Issuing CA' },
      ],
      subjectSpki: spkiFromRaw('p256', generateP256().publicKey),
      pathLen: 0,
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 86_400_000),
      signer: other.issuer.signer,
      issuer: other.issuer,
    });
    assert.throws(() =>
      verifyChain(device.modem.certificateDer, [lookAlike], ca.root.certificateDer),
    );
    other.issuer.signer.dispose();
  });

  it('checks validity at the given time', () => {
    const leaf = parseCertificate(device.modem.certificateDer);
    const at = (d: Date) => ({ at: d });
    assert.throws(
      () =>
        verifyChain(
          device.modem.certificateDer,
          [ca.issuing.certificateDer],
          ca.root.certificateDer,
          at(new Date(leaf.notAfter.getTime() + 1000)),
        ),
      failsWith('expired', 0),
    );
    assert.throws(
      () =>
        verifyChain(
          device.modem.certificateDer,
          [ca.issuing.certificateDer],
          ca.root.certificateDer,
          at(new Date(leaf.notBefore.getTime() - 120_000)),
        ),
      failsWith('not-yet-valid', 0),
    );
  });

  it('refuses a certificate "issued" by a device certificate (issuer not a CA)', async () => {
    const deviceKey = decodePkcs8(device.mcu.privateKeyPkcs8!);
    const deviceSigner = createFileSigner(deviceKey, 'memory:device');
    const child = await issueCaCertificate({
      subject: [{ oid: OID.commonName, value: 'sneaky' }],
      subjectSpki: spkiFromRaw('p256', generateP256().publicKey),
      pathLen: 0,
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 86_400_000),
      signer: deviceSigner,
      issuer: { certificateDer: device.mcu.certificateDer, signer: deviceSigner },
    });
    deviceSigner.dispose();
    assert.throws(
      () =>
        verifyChain(
          child,
          [device.mcu.certificateDer, ca.issuing.certificateDer],
          ca.root.certificateDer,
        ),
      failsWith('issuer-not-ca', 1),
    );
  });

  it('enforces pathLenConstraint like openssl does', async () => {
    // a sub-CA under the issuing CA (pathLen 0) and a leaf under it
    const subKey = generateP256();
    const subDer = await issueCaCertificate({
      subject: [{ oid: OID.commonName, value: 'Sub CA' }],
      subjectSpki: spkiFromRaw('p256', subKey.publicKey),
      pathLen: 0,
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 86_400_000 * 400),
      signer: issuer.signer,
      issuer,
    });
    const sub = { certificateDer: subDer, signer: createFileSigner(subKey, 'memory:sub') };
    const leaf = await signDevicePlan(
      planDeviceCertificates({
        ids: BOARD,
        issuerCertificateDer: subDer,
        profile: { validityDays: 300 },
      }),
      sub,
    );
    assert.throws(
      () =>
        verifyChain(
          leaf.modem.certificateDer,
          [subDer, ca.issuing.certificateDer],
          ca.root.certificateDer,
        ),
      failsWith('path-length-exceeded', 2),
    );
    writeFileSync(
      join(tmp.dir, 'sub.pem'),
      pemEncode('CERTIFICATE', subDer) + pemEncode('CERTIFICATE', ca.issuing.certificateDer),
    );
    writeFileSync(join(tmp.dir, 'deep.pem'), leaf.modem.certificatePem);
    writeFileSync(join(tmp.dir, 'acme-root.pem'), pemEncode('CERTIFICATE', ca.root.certificateDer));
    const r = await openssl(
      ['verify', '-CAfile', 'acme-root.pem', '-untrusted', 'sub.pem', 'deep.pem'],
      tmp.dir,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /path length constraint exceeded/);
    leaf.zeroize();
    sub.signer.dispose();
  });

  it('refuses a critical extension it does not understand', async () => {
    const key = generateP256();
    const spki = spkiFromRaw('p256', key.publicKey);
    const issuing = parseCertificate(ca.issuing.certificateDer);
    const tbs = encodeTbsCertificate({
      serial: randomSerial(),
      signatureAlgorithm: 'ecdsa-p256-sha256',
      issuerNameDer: issuing.subjectNameDer,
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 86_400_000),
      subjectNameDer: encodeName([{ oid: OID.commonName, value: 'odd' }]),
      subjectPublicKeySpki: spki,
      extensions: [encodeExtension('1.3.6.1.4.1.99999.1', true, derTlv(0x05))],
    });
    const der = await signTbs(tbs, issuer.signer, 'test');
    assert.throws(
      () => verifyChain(der, [ca.issuing.certificateDer], ca.root.certificateDer),
      failsWith('unknown-critical-extension', 0),
    );
    key.secret.fill(0);
  });
});
