import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  buildCrl,
  planDeviceCertificates,
  signDevicePlan,
  type IssuedDevice,
} from '../../certs/index.ts';
import { verifyCheckpointSignature } from '../../ledger/checkpoint.ts';
import { Pkcs11Token } from '../../main/hsm/pkcs11-token.ts';
import { LedgerWriter, ledgerDirOf } from '../../main/ledger/index.ts';
import { openStation, readStationConfig, type Station } from '../../main/station/index.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';
import { exec, filesUnder, filesWithPrivateKeys, holdsPrivateKey, keyline } from './helpers.ts';

const PIN = '135790';
const ROOT_PASS = 'offline root passphrase';
const BOARD = {
  imei: '490154203237518',
  iccid: '8944500102198304826',
  mcuUid: '0123456789abcdef01234567',
};

describe('station keys in a PKCS#11 token: keyline ca init --pkcs11 (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let work: string;
  let stationDir: string;
  let rootOut: string;
  let station: Station;
  let device: IssuedDevice;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    hsm = createSoftHsm();
    hsm.initToken('line-1', PIN);
    work = mkdtempSync(join(tmpdir(), 'keyline-hsm-station-'));
    stationDir = join(work, 'station');
    rootOut = join(work, 'offline-root');
    env = { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: PIN, KEYLINE_PASSPHRASE: ROOT_PASS };
    const r = await keyline(
      [
        'ca',
        'init',
        '--station',
        stationDir,
        '--pkcs11',
        SOFTHSM_MODULE,
        '--token',
        'line-1',
        '--root-out',
        rootOut,
        '--org',
        'Token Line',
        '--json',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    station = await openStation(stationDir, PIN);
    device = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: station.issuer.certificateDer }),
      station.issuer,
    );
  });
  after(() => {
    device?.zeroize();
    station?.close();
    rmSync(work, { recursive: true, force: true });
    hsm.cleanup();
  });

  it('records pkcs11 key locations in station.json and signs through the token', () => {
    const cfg = readStationConfig(stationDir);
    assert.equal(cfg.keys.issuingCa.kind, 'pkcs11');
    assert.equal(cfg.keys.ledger.kind, 'pkcs11');
    assert.equal(cfg.keys.rootCa, undefined, 'the root key went to --root-out, not the station');
    if (cfg.keys.issuingCa.kind !== 'pkcs11') return;
    assert.deepEqual(
      { module: cfg.keys.issuingCa.module, token: cfg.keys.issuingCa.token },
      { module: SOFTHSM_MODULE, token: 'line-1' },
    );
    assert.match(station.issuer.signer.location, /^pkcs11:token=line-1;object=keyline-issuing-ca-/);
    assert.equal(station.issuer.signer.algorithm, 'ecdsa-p256-sha256');
    assert.equal(station.ledgerSigner.algorithm, 'ed25519', 'SoftHSM2 offers CKM_EDDSA');
    assert.match(readFileSync(join(rootOut, 'root-ca.key.pem'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
  });

  it('openssl verifies the device certificate chain and the token-signed CRL; the CRL revokes it', async () => {
    const d = join(work, 'verify');
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    writeFileSync(join(d, 'root.pem'), readFileSync(join(rootOut, 'root-ca.pem')));
    writeFileSync(join(d, 'issuing.pem'), station.issuer.certificatePem);
    writeFileSync(join(d, 'modem.pem'), device.modem.certificatePem);
    writeFileSync(join(d, 'mcu.pem'), device.mcu.certificatePem);
    for (const leaf of ['modem.pem', 'mcu.pem']) {
      const v = await exec(
        'openssl',
        ['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', leaf],
        { cwd: d },
      );
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /: OK/);
    }
    const crl = await buildCrl({
      issuer: station.issuer,
      crlNumber: 1,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 86_400_000),
      entries: [
        { serialHex: device.modem.serialHex, revokedAt: new Date(), reason: 'keyCompromise' },
      ],
    });
    writeFileSync(join(d, 'crl.pem'), crl.pem);
    const c = await exec(
      'openssl',
      ['crl', '-in', 'crl.pem', '-CAfile', 'issuing.pem', '-noout', '-verify'],
      { cwd: d },
    );
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout + c.stderr, /verify OK/);
    writeFileSync(
      join(d, 'all.pem'),
      readFileSync(join(d, 'root.pem'), 'utf8') + station.issuer.certificatePem,
    );
    const revoked = await exec(
      'openssl',
      ['verify', '-crl_check', '-CAfile', 'all.pem', '-CRLfile', 'crl.pem', 'modem.pem'],
      { cwd: d },
    );
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    const fine = await exec(
      'openssl',
      ['verify', '-crl_check', '-CAfile', 'all.pem', '-CRLfile', 'crl.pem', 'mcu.pem'],
      { cwd: d },
    );
    assert.equal(fine.code, 0, fine.stdout + fine.stderr);
  });

  it('a mutual-TLS handshake with the token-issued device certificate succeeds', async () => {
    const d = join(work, 'tls');
    mkdirSync(d, { recursive: true });
    const mk = await exec(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'srv.key',
        '-out',
        'srv.pem',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: d },
    );
    assert.equal(mk.code, 0, mk.stderr);
    const srvCert = readFileSync(join(d, 'srv.pem'), 'utf8');
    const srvKey = readFileSync(join(d, 'srv.key'), 'utf8');
    const rootPem = readFileSync(join(rootOut, 'root-ca.pem'), 'utf8');
    const srv = tls.createServer({
      cert: srvCert,
      key: srvKey,
      ca: rootPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const seen = new Promise<string>((resolve, reject) => {
      srv.on('secureConnection', (sock) => {
        const cn = String(sock.getPeerCertificate().subject?.CN ?? '');
        sock.end('hello device\n');
        resolve(cn);
      });
      srv.on('tlsClientError', reject);
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      const port = (srv.address() as AddressInfo).port;
      const sock = tls.connect({
        host: '127.0.0.1',
        port,
        ca: srvCert,
        cert: device.modem.certificatePem + station.issuer.certificatePem,
        key: Buffer.from(device.modem.privateKeyPem ?? new Uint8Array()).toString('latin1'),
      });
      const timer = setTimeout(() => sock.destroy(new Error('handshake timed out')), 30_000);
      let got = '';
      sock.on('data', (b: Buffer) => (got += b.toString()));
      await once(sock, 'end').finally(() => clearTimeout(timer));
      sock.destroy();
      assert.equal(got, 'hello device\n');
      assert.equal(
        await seen,
        new X509Certificate(device.modem.certificatePem).subject.match(/CN=(.*)/)?.[1],
      );
    } finally {
      srv.close();
    }
  });

  it("signs ledger checkpoints with the token key; they verify under station.json's public key", async () => {
    const w = await LedgerWriter.open(ledgerDirOf(stationDir), {
      signer: station.ledgerSigner,
      stationId: station.stationId,
      caChainDer: [station.issuer.certificateDer],
    });
    try {
      const cp = await w.checkpoint();
      assert.equal(cp.checkpoint.algorithm, 'ed25519');
      assert.ok(verifyCheckpointSignature(cp, station.ledgerPublicKeySpki));
      const r = w.record(0);
      assert.equal(r.type, 'station');
      if (r.type === 'station') assert.match(r.keyLocation, /^pkcs11:/);
    } finally {
      await w.close();
    }
  });

  it('the CA key made by ca init cannot leave the token (CKA_VALUE, C_WrapKey, pkcs11-tool flags)', async () => {
    const cfg = readStationConfig(stationDir);
    assert.equal(cfg.keys.issuingCa.kind, 'pkcs11');
    if (cfg.keys.issuingCa.kind !== 'pkcs11') return;
    const label = cfg.keys.issuingCa.label;
    const token = Pkcs11Token.open({ modulePath: SOFTHSM_MODULE, tokenLabel: 'line-1' }, PIN);
    try {
      const key = token.findKey(label);
      assert.ok(key);
      assert.equal(token.tryReadPrivateValue(key), 'CKR_ATTRIBUTE_SENSITIVE');
      assert.match(
        token.tryWrapPrivateKey(key),
        /^CKR_(KEY_UNEXTRACTABLE|KEY_NOT_WRAPPABLE|ATTRIBUTE_SENSITIVE)/,
      );
      assert.deepEqual(token.keyFlags(key), {
        sensitive: true,
        extractable: false,
        neverExtractable: true,
      });
    } finally {
      token.close();
    }
    const keys = hsm.listPrivateKeys('line-1', PIN);
    const block = keys.find((b) => b.includes(label));
    assert.ok(block, keys.join('\n'));
    assert.match(block, /Access:\s+.*sensitive/);
    assert.match(block, /never extractable/);
  });

  it('a second ca init into the station refuses, overwrites no root key and leaves no key behind in the token', async () => {
    const countKeys = () => hsm.listPrivateKeys('line-1', PIN).length;
    const before = countKeys();
    const rootBefore = readFileSync(join(rootOut, 'root-ca.key.pem'), 'utf8');
    const init = (out: string) =>
      keyline(
        [
          'ca',
          'init',
          '--station',
          stationDir,
          '--pkcs11',
          SOFTHSM_MODULE,
          '--token',
          'line-1',
          '--root-out',
          out,
        ],
        env,
      );
    const sameRoot = await init(rootOut);
    assert.notEqual(sameRoot.code, 0);
    assert.match(sameRoot.stderr, /exists already; choose another --root-out/);
    const otherOut = join(work, 'other-root');
    const exists = await init(otherOut);
    assert.notEqual(exists.code, 0);
    assert.match(exists.stderr, /a station already exists/);
    assert.equal(countKeys(), before, 'the keys generated for the refused init were deleted');
    assert.equal(readFileSync(join(rootOut, 'root-ca.key.pem'), 'utf8'), rootBefore);
    assert.deepEqual(filesUnder(otherOut), [], 'no orphan root key');
  });

  it('after init, issue (CLI), CRL and checkpoint, no private key is in any file of the station, the temp dir or the output', async () => {
    const out = join(work, 'cert-out');
    const r = await keyline(
      [
        'cert',
        'issue',
        '--station',
        stationDir,
        '--imei',
        '356938035643809',
        '--iccid',
        '8944500102198304827',
        '--mcu-uid',
        'aabbccddeeff001122334455',
        '--out',
        out,
        '--json',
      ],
      { ...env, KEYLINE_PASSPHRASE: '', KEYLINE_KEY_PASSPHRASE: 'device key passphrase' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(holdsPrivateKey(Buffer.from(r.stdout + r.stderr)), false, 'no key in the output');
    const v = await exec(
      'openssl',
      [
        'verify',
        '-CAfile',
        join(rootOut, 'root-ca.pem'),
        '-untrusted',
        'chain.pem',
        'modem.cert.pem',
      ],
      { cwd: out },
    );
    assert.equal(v.code, 0, v.stdout + v.stderr);
    // cert-out holds the device keys the command was asked for (encrypted); the root key is
    // the offline one; tls/ holds the test server's own key; the SoftHSM store is the token.
    const files = filesUnder(work, [rootOut, join(work, 'cert-out'), join(work, 'tls'), hsm.dir]);
    assert.ok(files.length >= 6, files.join('\n'));
    assert.deepEqual(filesWithPrivateKeys(files), []);
    // The check itself finds a key when one is there (it cannot pass vacuously).
    assert.deepEqual(filesWithPrivateKeys([join(rootOut, 'root-ca.key.pem')]).length, 1);
  });
});
