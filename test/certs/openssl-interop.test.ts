import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildCrl,
  checkIssuingCa,
  createFileSigner,
  CsrError,
  decryptPrivateKeyPem,
  describeCertificate,
  encryptPrivateKeyPem,
  generateP256,
  keyMatchesSpki,
  parseCertificate,
  pemDecodeAll,
  pemEncode,
  planDeviceCertificates,
  signDevicePlan,
  verifyChain,
  verifyCsr,
  WrongPassphraseError,
  type IssuedDevice,
  type Issuer,
} from '../../certs/index.ts';
import { BOARD, devCa, makeTempDir, openssl, opensslCustomerCa, opensslOk } from './helpers.ts';

describe('openssl CLI interoperability', () => {
  const tmp = makeTempDir('openssl');
  const dir = tmp.dir;
  let issuer: Issuer;
  let device: IssuedDevice;
  before(async () => {
    const d = await devCa(dir);
    issuer = d.issuer;
    device = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuer.certificateDer }),
      issuer,
    );
    writeFileSync(join(dir, 'modem.pem'), device.modem.certificatePem);
    writeFileSync(join(dir, 'mcu.pem'), device.mcu.certificatePem);
    writeFileSync(join(dir, 'modem.key'), device.modem.privateKeyPem!);
  });
  after(() => {
    device.zeroize();
    issuer.signer.dispose();
    tmp.cleanup();
  });

  it('openssl verify accepts the chain of both device certificates', async () => {
    for (const f of ['modem.pem', 'mcu.pem']) {
      const out = await opensslOk(
        ['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-purpose', 'sslclient', f],
        dir,
      );
      assert.match(out, new RegExp(`${f}: OK`));
    }
    // and rejects it without the issuing CA (the chain really is needed)
    const r = await openssl(['verify', '-CAfile', 'root.pem', 'modem.pem'], dir);
    assert.notEqual(r.code, 0);
  });

  it('openssl shows the SAN URIs, the role OU and the CA extensions', async () => {
    const san = await opensslOk(
      ['x509', '-in', 'modem.pem', '-noout', '-ext', 'subjectAltName'],
      dir,
    );
    assert.match(san, /URI:urn:gsma:imei:49015420-323751-8/);
    assert.match(san, /URI:urn:keyline:iccid:8944500102198304826F/);
    assert.match(san, /URI:urn:keyline:mcu-uid:3a0021000b51333233353530/);
    const subj = await opensslOk(
      ['x509', '-in', 'mcu.pem', '-noout', '-subject', '-nameopt', 'RFC2253'],
      dir,
    );
    assert.match(subj, /CN=kl1-70f85d3f9036f695f8508881,OU=mcu,O=Acme/);
    const ca = await opensslOk(
      ['x509', '-in', 'issuing.pem', '-noout', '-ext', 'basicConstraints,keyUsage'],
      dir,
    );
    assert.match(ca, /CA:TRUE, pathlen:0/);
    assert.match(ca, /Certificate Sign, CRL Sign/);
    const serial = await opensslOk(['x509', '-in', 'modem.pem', '-noout', '-serial'], dir);
    assert.equal(serial.trim(), `serial=${device.modem.serialHex.toUpperCase()}`);
  });

  it('openssl reads the unencrypted device key and it matches the certificate', async () => {
    const keyPub = await opensslOk(['pkey', '-in', 'modem.key', '-pubout'], dir);
    const certPub = await opensslOk(['x509', '-in', 'modem.pem', '-noout', '-pubkey'], dir);
    assert.equal(keyPub, certPub);
  });

  it('openssl crl -verify accepts the CRL and verify -crl_check rejects the revoked certificate', async () => {
    const crl = await buildCrl({
      issuer,
      crlNumber: 7,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 7 * 86_400_000),
      entries: [
        {
          serialHex: device.modem.serialHex,
          revokedAt: new Date(Date.now() - 60_000),
          reason: 'keyCompromise',
        },
      ],
    });
    writeFileSync(join(dir, 'crl.pem'), crl.pem);
    writeFileSync(
      join(dir, 'chain.pem'),
      readFileSync(join(dir, 'issuing.pem'), 'utf8') + readFileSync(join(dir, 'root.pem'), 'utf8'),
    );
    const v = await opensslOk(
      ['crl', '-in', 'crl.pem', '-CAfile', 'chain.pem', '-noout', '-verify'],
      dir,
    );
    assert.match(v, /verify OK/);
    const text = await opensslOk(['crl', '-in', 'crl.pem', '-noout', '-text'], dir);
    assert.match(text, /Version 2/);
    assert.match(text, /X509v3 CRL Number: \n\s+7/);
    assert.match(text, /Key Compromise/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, new RegExp(device.modem.serialHex.toUpperCase()));
    const revoked = await openssl(
      ['verify', '-crl_check', '-CAfile', 'chain.pem', '-CRLfile', 'crl.pem', 'modem.pem'],
      dir,
    );
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    const stillGood = await opensslOk(
      ['verify', '-crl_check', '-CAfile', 'chain.pem', '-CRLfile', 'crl.pem', 'mcu.pem'],
      dir,
    );
    assert.match(stillGood, /mcu.pem: OK/);
  });

  it('issues from an openssl-generated CSR after verifying its signature', async () => {
    await opensslOk(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'board.key'],
      dir,
    );
    await opensslOk(
      [
        'req',
        '-new',
        '-key',
        'board.key',
        '-subj',
        '/CN=whatever-the-board-says',
        '-out',
        'board.csr',
      ],
      dir,
    );
    const csrPem = readFileSync(join(dir, 'board.csr'), 'utf8');
    assert.equal(verifyCsr(csrPem).publicKey.algorithm, 'p256');
    const plan = planDeviceCertificates({
      ids: BOARD,
      issuerCertificateDer: issuer.certificateDer,
      csr: { mcu: csrPem },
    });
    assert.equal(plan.mcu.keySource, 'csr');
    const issued = await signDevicePlan(plan, issuer);
    assert.equal(issued.mcu.privateKeyPkcs8, undefined);
    assert.ok(issued.modem.privateKeyPkcs8, 'the other role still gets a generated key');
    writeFileSync(join(dir, 'board.pem'), issued.mcu.certificatePem);
    const keyPub = await opensslOk(['pkey', '-in', 'board.key', '-pubout'], dir);
    const certPub = await opensslOk(['x509', '-in', 'board.pem', '-noout', '-pubkey'], dir);
    assert.equal(keyPub, certPub, 'certificate carries the CSR key');
    assert.equal(
      describeCertificate(issued.mcu.certificateDer).commonName,
      'kl1-70f85d3f9036f695f8508881',
    );
    await opensslOk(
      ['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'board.pem'],
      dir,
    );
    issued.zeroize();
  });

  it('rejects a CSR whose signature does not verify', async () => {
    const csrDer = pemDecodeAll(readFileSync(join(dir, 'board.csr'), 'utf8'))[0].der;
    const bad = csrDer.slice();
    bad[bad.length - 5] ^= 0x01; // flip a bit inside the signature
    assert.throws(
      () => verifyCsr(bad),
      (e: unknown) => e instanceof CsrError && /signature does not verify/.test(e.message),
    );
    const tampered = csrDer.slice();
    const cn = Buffer.from(tampered).indexOf('whatever');
    tampered[cn] ^= 0x20; // change the subject: signature no longer covers it
    assert.throws(() => verifyCsr(tampered), CsrError);
    assert.throws(
      () =>
        planDeviceCertificates({
          ids: BOARD,
          issuerCertificateDer: issuer.certificateDer,
          csr: { modem: bad },
        }),
      CsrError,
    );
    assert.throws(() => verifyCsr(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), CsrError);
  });

  it('openssl decrypts keyline PBES2 keys, and keyline decrypts openssl PBES2 keys', async () => {
    const key = generateP256();
    const pub = key.publicKey.slice();
    writeFileSync(
      join(dir, 'kl.enc.pem'),
      await encryptPrivateKeyPem(key, 'pass phrase ü', { iterations: 2000 }),
    );
    const out = await opensslOk(
      ['pkey', '-in', 'kl.enc.pem', '-passin', 'env:KP', '-pubout'],
      dir,
      { ...process.env, KP: 'pass phrase ü' },
    );
    assert.match(out, /BEGIN PUBLIC KEY/);
    const wrong = await openssl(
      ['pkey', '-in', 'kl.enc.pem', '-passin', 'pass:nope', '-noout'],
      dir,
    );
    assert.notEqual(wrong.code, 0);

    await opensslOk(
      [
        'pkcs8',
        '-topk8',
        '-v2',
        'aes-256-cbc',
        '-in',
        'board.key',
        '-passout',
        'pass:secret-1',
        '-out',
        'board.enc.pem',
      ],
      dir,
    );
    const encPem = readFileSync(join(dir, 'board.enc.pem'), 'utf8');
    const back = await decryptPrivateKeyPem(encPem, 'secret-1', 'board key');
    const spki = pemDecodeAll(await opensslOk(['pkey', '-in', 'board.key', '-pubout'], dir))[0].der;
    assert.ok(keyMatchesSpki(back, spki));
    await assert.rejects(
      decryptPrivateKeyPem(encPem, 'secret-2', 'board key'),
      WrongPassphraseError,
    );
    assert.ok(pub.length === 65);
  });

  it('checks an issuing CA made by openssl for import, and verifyChain agrees with openssl', async () => {
    await opensslCustomerCa(dir, 'cust-pass');
    const key = await decryptPrivateKeyPem(
      readFileSync(join(dir, 'cust-issuing.enc.pem'), 'utf8'),
      'cust-pass',
      'customer key',
    );
    const issuingDer = pemDecodeAll(readFileSync(join(dir, 'cust-issuing.pem'), 'utf8'))[0].der;
    const rootDer = pemDecodeAll(readFileSync(join(dir, 'cust-root.pem'), 'utf8'))[0].der;
    const desc = checkIssuingCa({ certificateDer: issuingDer, key, chainDers: [rootDer] });
    assert.equal(desc.subject, 'CN=Customer Issuing CA,O=Customer');
    assert.equal(desc.pathLenConstraint, 0);
    // keyline issues under the customer CA; openssl and verifyChain both accept the result
    const custIssuer = {
      certificateDer: issuingDer,
      signer: createFileSigner(key, 'memory:customer'),
    };
    const issued = await signDevicePlan(
      planDeviceCertificates({
        ids: BOARD,
        issuerCertificateDer: issuingDer,
        profile: { validityDays: 1000 },
      }),
      custIssuer,
    );
    writeFileSync(join(dir, 'cust-dev.pem'), issued.modem.certificatePem);
    await opensslOk(
      ['verify', '-CAfile', 'cust-root.pem', '-untrusted', 'cust-issuing.pem', 'cust-dev.pem'],
      dir,
    );
    const chain = verifyChain(issued.modem.certificateDer, [issuingDer], rootDer);
    assert.deepEqual(
      chain.path.map((c) => c.commonName),
      ['kl1-70f85d3f9036f695f8508881', 'Customer Issuing CA', 'Customer Root'],
    );
    assert.equal(
      parseCertificate(issued.modem.certificateDer).authorityKeyIdentifierHex,
      desc.subjectKeyIdentifierHex,
    );
    custIssuer.signer.dispose();
    issued.zeroize();
    assert.equal(
      pemEncode('CERTIFICATE', issuingDer),
      readFileSync(join(dir, 'cust-issuing.pem'), 'utf8'),
    );
  });
});
