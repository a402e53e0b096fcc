import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createFileSigner,
  generateP256,
  issueCaCertificate,
  pemEncode,
  planDeviceCertificates,
  signDevicePlan,
  spkiFromRaw,
  verifyChain,
} from '../../certs/index.ts';
import { OID } from '../../certs/oids.ts';
import { signCheckpoint, verifyCheckpointSignature } from '../../ledger/checkpoint.ts';
import { Pkcs11Token } from '../../main/hsm/pkcs11-token.ts';
import { openStation, readStationConfig } from '../../main/station/index.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';
import { keyline } from './helpers.ts';

const PIN = '424242';
const BOARD = {
  imei: '490154203237518',
  iccid: '8944500102198304826',
  mcuUid: '0123456789abcdef01234567',
};

/** `keyline ca import` of the key labelled `keyLabel` in token "customer", as station `dir`. */
function importArgs(dir: string, keyLabel: string, certFile: string): string[] {
  return [
    'ca',
    'import',
    '--station',
    dir,
    '--pkcs11',
    SOFTHSM_MODULE,
    '--token',
    'customer',
    '--key-label',
    keyLabel,
    '--cert',
    certFile,
  ];
}

describe("keyline ca import --pkcs11: a customer's CA key already in the token", () => {
  let hsm: SoftHsm;
  let work: string;
  let rootDer: Uint8Array;
  let caPem: string;
  let otherCaPem: string;
  const env = () => ({ SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: PIN });

  before(async () => {
    hsm = createSoftHsm();
    hsm.initToken('customer', PIN);
    work = mkdtempSync(join(tmpdir(), 'keyline-hsm-import-'));
    const token = Pkcs11Token.open({ modulePath: SOFTHSM_MODULE, tokenLabel: 'customer' }, PIN);
    const rootKey = generateP256();
    const rootSigner = createFileSigner(rootKey, 'memory:customer-root');
    try {
      const caKey = token.generateKeyPair('p256', 'customer-issuing');
      token.generateKeyPair('p256', 'unrelated');
      const notBefore = new Date(Date.now() - 60_000);
      const notAfter = new Date(Date.now() + 20 * 365 * 86_400_000);
      rootDer = await issueCaCertificate({
        subject: [
          { oid: OID.organizationName, value: 'Customer' },
          { oid: OID.commonName, value: 'Customer Root' },
        ],
        subjectSpki: spkiFromRaw('p256', rootKey.publicKey),
        pathLen: 1,
        notBefore,
        notAfter,
        signer: rootSigner,
      });
      const issue = async (spki: Uint8Array, cn: string) =>
        issueCaCertificate({
          subject: [
            { oid: OID.organizationName, value: 'Customer' },
            { oid: OID.commonName, value: cn },
          ],
          subjectSpki: spki,
          pathLen: 0,
          notBefore,
          notAfter,
          issuer: { certificateDer: rootDer, signer: rootSigner },
          signer: rootSigner,
        });
      const caDer = await issue(token.publicKeySpki(caKey), 'Customer Issuing CA');
      caPem = pemEncode('CERTIFICATE', caDer) + pemEncode('CERTIFICATE', rootDer);
      const other = generateP256();
      otherCaPem = pemEncode(
        'CERTIFICATE',
        await issue(spkiFromRaw('p256', other.publicKey), 'Someone Else CA'),
      );
    } finally {
      rootSigner.dispose();
      token.close();
    }
    writeFileSync(join(work, 'ca.pem'), caPem);
    writeFileSync(join(work, 'other.pem'), otherCaPem);
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    hsm.cleanup();
  });

  it('refuses a key that does not match the certificate, and writes nothing', async () => {
    const dir = join(work, 'bad');
    const r = await keyline(importArgs(dir, 'unrelated', join(work, 'ca.pem')), env());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /does not match the certificate .*SPKI differs/);
    assert.equal(existsSync(join(dir, 'station.json')), false);
  });

  it('refuses a certificate of another key and a missing label', async () => {
    const args = (label: string, cert: string) => importArgs(join(work, 'bad2'), label, cert);
    const a = await keyline(args('customer-issuing', join(work, 'other.pem')), env());
    assert.notEqual(a.code, 0);
    assert.match(a.stderr, /SPKI differs/);
    const b = await keyline(args('nope', join(work, 'ca.pem')), env());
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /no private key labelled "nope"/);
  });

  it('imports the matching CA key; the station issues through it and the chain verifies', async () => {
    const dir = join(work, 'station');
    const r = await keyline(
      [...importArgs(dir, 'customer-issuing', join(work, 'ca.pem')), '--json'],
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { issuingCa: { source: string } };
    assert.equal(info.issuingCa.source, 'imported');
    const cfg = readStationConfig(dir);
    assert.deepEqual(cfg.keys.issuingCa, {
      kind: 'pkcs11',
      module: SOFTHSM_MODULE,
      token: 'customer',
      label: 'customer-issuing',
    });
    const st = await openStation(dir, PIN);
    try {
      const dev = await signDevicePlan(
        planDeviceCertificates({ ids: BOARD, issuerCertificateDer: st.issuer.certificateDer }),
        st.issuer,
      );
      verifyChain(dev.modem.certificateDer, [st.issuer.certificateDer], rootDer);
      dev.zeroize();
    } finally {
      st.close();
    }
  });

  it('a P-256 ledger key in the token (tokens without CKM_EDDSA) signs checkpoints that verify', async () => {
    const token = Pkcs11Token.open({ modulePath: SOFTHSM_MODULE, tokenLabel: 'customer' }, PIN);
    try {
      const signer = token.signer(token.generateKeyPair('p256', 'ledger-p256'));
      const cp = await signCheckpoint(
        {
          stationId: 'st-0123456789abcdef',
          treeSize: 3,
          rootHashHex: 'ab'.repeat(32),
          time: new Date().toISOString(),
        },
        signer,
      );
      assert.equal(cp.checkpoint.algorithm, 'ecdsa-p256-sha256');
      assert.ok(verifyCheckpointSignature(cp, signer.publicKeySpki()));
      const tampered = { ...cp, checkpoint: { ...cp.checkpoint, treeSize: 4 } };
      assert.equal(verifyCheckpointSignature(tampered, signer.publicKeySpki()), false);
    } finally {
      token.close();
    }
  });
});
