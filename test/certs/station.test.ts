import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  CaImportError,
  describeCertificate,
  MalformedInputError,
  parseSpki,
  planDeviceCertificates,
  signDevicePlan,
  SignerDisposedError,
  verifyChain,
  WrongPassphraseError,
} from '../../certs/index.ts';
import {
  createStation,
  importIssuingCa,
  openStation,
  readStationConfig,
  StationExistsError,
  StationPassphraseError,
  UnlockBackoffError,
  UnlockLockedError,
  WeakPassphraseError,
} from '../../main/station/index.ts';
import { BOARD, makeTempDir, opensslCustomerCa, opensslOk } from './helpers.ts';

const PASS = 'station passphrase 1';
const FAST = { kdfIterations: 1000 };

describe('station directory', () => {
  const tmp = makeTempDir('station');
  const root = tmp.dir;
  after(() => tmp.cleanup());

  it('creates a station whose files openssl reads and whose keys are encrypted at rest', async () => {
    const dir = join(root, 's1');
    const info = await createStation(dir, PASS, { ...FAST, organization: 'Acme' });
    assert.match(info.stationId, /^st-[0-9a-f]{16}$/);
    assert.deepEqual(readdirSync(dir).sort(), [
      'chain.pem',
      'issuing-ca.key.pem',
      'issuing-ca.pem',
      'ledger.key.pem',
      'ledger.pub.pem',
      'root-ca.key.pem',
      'root-ca.pem',
      'station.json',
    ]);
    for (const k of ['issuing-ca.key.pem', 'root-ca.key.pem', 'ledger.key.pem']) {
      const text = readFileSync(join(dir, k), 'utf8');
      assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      await opensslOk(['pkey', '-in', k, '-passin', 'env:KP', '-noout'], dir, {
        ...process.env,
        KP: PASS,
      });
    }
    const cfg = readStationConfig(dir);
    assert.deepEqual(cfg.keys.issuingCa, { kind: 'file', path: 'issuing-ca.key.pem' });
    assert.equal(cfg.unlock.maxAttempts, 10);
    const rootCa = describeCertificate(readFileSync(join(dir, 'root-ca.pem'), 'utf8'));
    const issuing = describeCertificate(readFileSync(join(dir, 'issuing-ca.pem'), 'utf8'));
    assert.equal(rootCa.pathLenConstraint, 1);
    assert.equal(issuing.pathLenConstraint, 0);
    assert.deepEqual(issuing.keyUsage, ['keyCertSign', 'cRLSign']);
    assert.equal(issuing.authorityKeyIdentifierHex, rootCa.subjectKeyIdentifierHex);
    await opensslOk(['verify', '-CAfile', 'root-ca.pem', 'issuing-ca.pem'], dir);
  });

  it('opens the station into working signers and disposes them on close', async () => {
    const dir = join(root, 's1');
    const st = await openStation(dir, PASS);
    const issued = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: st.issuer.certificateDer }),
      st.issuer,
    );
    assert.ok(st.root);
    verifyChain(issued.mcu.certificateDer, [st.issuer.certificateDer], st.root.certificateDer);
    assert.match(st.issuer.chainPem, /(-----BEGIN CERTIFICATE-----[\s\S]*){2}/);
    issued.zeroize();
    const msg = new TextEncoder().encode('checkpoint');
    const sig = await st.ledgerSigner.sign(msg);
    assert.equal(st.ledgerSigner.algorithm, 'ed25519');
    assert.ok(ed25519.verify(sig, msg, parseSpki(st.ledgerPublicKeySpki).raw));
    st.close();
    await assert.rejects(st.issuer.signer.sign(msg), SignerDisposedError);
    await assert.rejects(st.ledgerSigner.sign(msg), SignerDisposedError);
  });

  it('refuses to overwrite a station unless forced, and then keeps the old one aside', async () => {
    const dir = join(root, 's1');
    const before = readFileSync(join(dir, 'station.json'), 'utf8');
    await assert.rejects(createStation(dir, PASS, FAST), StationExistsError);
    assert.equal(readFileSync(join(dir, 'station.json'), 'utf8'), before);
    const info = await createStation(dir, PASS, { ...FAST, force: true });
    assert.ok(info.replacedDir && existsSync(join(info.replacedDir, 'station.json')));
    assert.equal(readFileSync(join(info.replacedDir, 'station.json'), 'utf8'), before);
    assert.notEqual(readFileSync(join(dir, 'station.json'), 'utf8'), before);
  });

  it('refuses a short passphrase and a non-empty directory that is not a station', async () => {
    await assert.rejects(createStation(join(root, 's-weak'), 'short', FAST), WeakPassphraseError);
    assert.equal(existsSync(join(root, 's-weak')), false);
    const dir = join(root, 'busy');
    mkdirSync(dir); // an existing empty directory is fine (so is an absent one)
    await createStation(dir, PASS, FAST);
    assert.ok(existsSync(join(dir, 'station.json')));
    const other = join(root, 'not-empty');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'x');
    await assert.rejects(createStation(other, PASS, FAST), /not empty/);
    assert.deepEqual(readdirSync(other), ['notes.txt']);
  });

  it('wrong passphrases back off, lock after the configured count, and the count persists', async () => {
    const dir = join(root, 's-lock');
    await createStation(dir, PASS, {
      ...FAST,
      unlock: { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 10_000 },
    });
    let now = 1_000_000;
    const clock = { now: () => now };
    await assert.rejects(openStation(dir, 'wrong passphrase!', clock), (e: unknown) => {
      assert.ok(e instanceof StationPassphraseError);
      assert.equal(e.failures, 1);
      assert.equal(e.attemptsLeft, 2);
      assert.ok(!e.message.includes('wrong passphrase!'), 'the passphrase is never echoed');
      return true;
    });
    // immediately again: refused without even trying (back-off 1 s)
    await assert.rejects(
      openStation(dir, PASS, clock),
      (e: unknown) => e instanceof UnlockBackoffError && e.retryAfterMs === 1000,
    );
    now += 1000;
    await assert.rejects(openStation(dir, 'wrong again!', clock), StationPassphraseError);
    now += 1000; // back-off is now 2 s
    await assert.rejects(openStation(dir, PASS, clock), UnlockBackoffError);
    now += 1000;
    // the state is on disk: a fresh call (a new process would do the same) sees 2 failures
    assert.equal(JSON.parse(readFileSync(join(dir, 'unlock-state.json'), 'utf8')).failures, 2);
    const st = await openStation(dir, PASS, clock); // success resets the counter
    st.close();
    assert.equal(JSON.parse(readFileSync(join(dir, 'unlock-state.json'), 'utf8')).failures, 0);
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      await assert.rejects(openStation(dir, `nope-${i}-xxxx`, clock));
    }
    now += 3_600_000;
    await assert.rejects(
      openStation(dir, PASS, clock),
      UnlockLockedError,
      'locked even with the right passphrase',
    );
  });
});

describe('customer issuing CA import', () => {
  const tmp = makeTempDir('import');
  const dir = tmp.dir;
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  before(async () => {
    await opensslCustomerCa(dir, 'customer-pass');
  });
  after(() => tmp.cleanup());

  it('imports an openssl-made CA with its chain and issues under it', async () => {
    const st = join(dir, 'st-ok');
    const info = await importIssuingCa(st, PASS, {
      ...FAST,
      certificatePem: read('cust-issuing.pem') + read('cust-root.pem'),
      keyPem: read('cust-issuing.enc.pem'),
      keyPassphrase: 'customer-pass',
    });
    assert.equal(info.issuingCa.source, 'imported');
    assert.equal(info.rootCa?.subject, 'CN=Customer Root,O=Customer');
    assert.equal(existsSync(join(st, 'root-ca.key.pem')), false, 'no root key for an imported CA');
    const station = await openStation(st, PASS);
    const issued = await signDevicePlan(
      planDeviceCertificates({
        ids: BOARD,
        issuerCertificateDer: station.issuer.certificateDer,
        profile: { validityDays: 365 },
      }),
      station.issuer,
    );
    writeFileSync(join(dir, 'dev.pem'), issued.modem.certificatePem);
    await opensslOk(
      ['verify', '-CAfile', 'cust-root.pem', '-untrusted', 'cust-issuing.pem', 'dev.pem'],
      dir,
    );
    issued.zeroize();
    station.close();
    // the imported key is re-encrypted under the station passphrase
    await opensslOk(['pkey', '-in', 'issuing-ca.key.pem', '-passin', 'env:KP', '-noout'], st, {
      ...process.env,
      KP: PASS,
    });
  });

  const noStation = (name: string) =>
    assert.equal(existsSync(join(dir, name)), false, 'nothing written');

  it('rejects a wrong key passphrase and leaves nothing on disk', async () => {
    await assert.rejects(
      importIssuingCa(join(dir, 'st-wrongpass'), PASS, {
        ...FAST,
        certificatePem: read('cust-issuing.pem'),
        keyPem: read('cust-issuing.enc.pem'),
        keyPassphrase: 'not-the-pass',
      }),
      WrongPassphraseError,
    );
    noStation('st-wrongpass');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('st-wrongpass')),
      [],
      'no temp directory left',
    );
  });

  it('rejects a certificate that is not a CA', async () => {
    await assert.rejects(
      importIssuingCa(join(dir, 'st-leaf'), PASS, {
        ...FAST,
        certificatePem: read('cust-leaf.pem'),
        keyPem: read('cust-leaf.enc.pem'),
        keyPassphrase: 'customer-pass',
      }),
      (e: unknown) => e instanceof CaImportError && /not a CA certificate/.test(e.message),
    );
    noStation('st-leaf');
  });

  it('rejects a key that does not match the certificate', async () => {
    await assert.rejects(
      importIssuingCa(join(dir, 'st-mismatch'), PASS, {
        ...FAST,
        certificatePem: read('cust-issuing.pem'),
        keyPem: read('cust-leaf.enc.pem'),
        keyPassphrase: 'customer-pass',
      }),
      (e: unknown) => e instanceof CaImportError && /does not match/.test(e.message),
    );
    noStation('st-mismatch');
  });

  it('rejects an unencrypted key file with a hint, and a chain that does not verify', async () => {
    await assert.rejects(
      importIssuingCa(join(dir, 'st-plain'), PASS, {
        ...FAST,
        certificatePem: read('cust-issuing.pem'),
        keyPem: read('cust-issuing.key'),
        keyPassphrase: 'customer-pass',
      }),
      (e: unknown) => e instanceof MalformedInputError && /openssl pkcs8 -topk8/.test(e.message),
    );
    noStation('st-plain');
    // the issuing CA followed by the wrong root
    await opensslOk(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'cust-leaf.key',
        '-subj',
        '/O=Customer/CN=Customer Root',
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-out',
        'fake-root.pem',
      ],
      dir,
    );
    await assert.rejects(
      importIssuingCa(join(dir, 'st-badchain'), PASS, {
        ...FAST,
        certificatePem: read('cust-issuing.pem') + read('fake-root.pem'),
        keyPem: read('cust-issuing.enc.pem'),
        keyPassphrase: 'customer-pass',
      }),
      (e: unknown) => e instanceof CaImportError && /chain does not verify/.test(e.message),
    );
    noStation('st-badchain');
  });
});
