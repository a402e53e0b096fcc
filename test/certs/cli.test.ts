import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../main/cli/index.ts';
import type { CliIO } from '../../main/cli/io.ts';
import { makeTempDir, openssl, opensslCustomerCa, opensslOk } from './helpers.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function keyline(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: CliIO = { stdout, stderr, env, signal: new AbortController().signal };
  const code = await main(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const ENV = { KEYLINE_PASSPHRASE: 'cli station pass', KEYLINE_KEY_PASSPHRASE: 'device key pass' };
const IDS = [
  '--imei',
  '490154203237518',
  '--iccid',
  '8944500102198304826F',
  '--mcu-uid',
  '3a0021000b51333233353530',
];

describe('keyline ca / cert CLI', () => {
  const tmp = makeTempDir('cli');
  const dir = tmp.dir;
  const station = join(dir, 'station');
  before(async () => {
    const r = await keyline(['ca', 'init', '--station', station, '--org', 'Acme', '--json'], ENV);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => tmp.cleanup());

  it('ca init prints JSON and refuses an existing station with a one-line error', async () => {
    const r = await keyline(['ca', 'init', '--station', station, '--json'], ENV);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(out.ok, false);
    assert.equal(out.error.code, 'STATION_EXISTS');
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('cert issue writes certificates, chain and encrypted keys that openssl accepts', async () => {
    const outDir = join(dir, 'dev1');
    const r = await keyline(
      [
        'cert',
        'issue',
        '--station',
        station,
        ...IDS,
        '--out',
        outDir,
        '--validity-days',
        '400',
        '--json',
      ],
      ENV,
    );
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as {
      ok: boolean;
      deviceId: string;
      modem: { key: string; keyEncrypted: boolean; serialHex: string };
    };
    assert.equal(res.deviceId, 'kl1-70f85d3f9036f695f8508881');
    assert.ok(res.modem.keyEncrypted);
    assert.deepEqual(readdirSync(outDir).sort(), [
      'chain.pem',
      'mcu.cert.pem',
      'mcu.key.pem',
      'modem.cert.pem',
      'modem.key.pem',
    ]);
    await opensslOk(
      [
        'verify',
        '-CAfile',
        join(station, 'root-ca.pem'),
        '-untrusted',
        'chain.pem',
        'modem.cert.pem',
        'mcu.cert.pem',
      ],
      outDir,
    );
    const env = { ...process.env, KP: ENV.KEYLINE_KEY_PASSPHRASE };
    const keyPub = await opensslOk(
      ['pkey', '-in', 'modem.key.pem', '-passin', 'env:KP', '-pubout'],
      outDir,
      env,
    );
    const certPub = await opensslOk(['x509', '-in', 'modem.cert.pem', '-noout', '-pubkey'], outDir);
    assert.equal(keyPub, certPub);
    assert.match(readFileSync(join(outDir, 'mcu.key.pem'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    const days = await opensslOk(['x509', '-in', 'mcu.cert.pem', '-noout', '-enddate'], outDir);
    assert.match(
      days,
      new RegExp(String(new Date(Date.now() + 400 * 86_400_000).getUTCFullYear())),
    );
  });

  it('--plaintext-keys writes clearly named unencrypted keys', async () => {
    const outDir = join(dir, 'dev2');
    const r = await keyline(
      ['cert', 'issue', '--station', station, ...IDS, '--out', outDir, '--plaintext-keys'],
      { KEYLINE_PASSPHRASE: ENV.KEYLINE_PASSPHRASE },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(outDir, 'modem.key.PLAINTEXT.pem')));
    assert.match(
      readFileSync(join(outDir, 'mcu.key.PLAINTEXT.pem'), 'utf8'),
      /^-----BEGIN PRIVATE KEY-----/,
    );
  });

  it('--csr/--role issues that role from the board CSR and writes no key for it', async () => {
    await opensslOk(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'mcu-own.key'],
      dir,
    );
    await opensslOk(
      ['req', '-new', '-key', 'mcu-own.key', '-subj', '/CN=board', '-out', 'mcu.csr'],
      dir,
    );
    const outDir = join(dir, 'dev3');
    const r = await keyline(
      [
        'cert',
        'issue',
        '--station',
        station,
        ...IDS,
        '--out',
        outDir,
        '--csr',
        join(dir, 'mcu.csr'),
        '--role',
        'mcu',
        '--json',
      ],
      ENV,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(outDir).sort(), [
      'chain.pem',
      'mcu.cert.pem',
      'modem.cert.pem',
      'modem.key.pem',
    ]);
    const keyPub = await opensslOk(['pkey', '-in', 'mcu-own.key', '-pubout'], dir);
    const certPub = await opensslOk(
      ['x509', '-in', join(outDir, 'mcu.cert.pem'), '-noout', '-pubkey'],
      dir,
    );
    assert.equal(keyPub, certPub);
  });

  it('bad input gives a one-line error and writes nothing', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp, number]> = [
      [
        [
          '--imei',
          '490154203237519',
          '--iccid',
          '8944500102198304826F',
          '--mcu-uid',
          '3a0021000b51333233353530',
        ],
        ENV,
        /invalid imei .*Luhn/,
        1,
      ],
      [
        [
          '--imei',
          '490154203237518',
          '--iccid',
          '1234500102198304826F',
          '--mcu-uid',
          '3a0021000b51333233353530',
        ],
        ENV,
        /invalid iccid/,
        1,
      ],
      [
        [
          '--imei',
          '490154203237518',
          '--iccid',
          '8944500102198304826F',
          '--mcu-uid',
          '3a0021000b513332333535',
        ],
        ENV,
        /12 bytes/,
        1,
      ],
      [[...IDS, '--passphrase', 'on-argv-is-refused'], ENV, /unknown option --passphrase/, 2],
      [
        IDS,
        { ...ENV, KEYLINE_PASSPHRASE: 'not the station pass' },
        /wrong passphrase \(1 failed, 9 left/,
        1,
      ],
      [IDS, { KEYLINE_KEY_PASSPHRASE: 'x' }, /set KEYLINE_PASSPHRASE or run on a terminal/, 1],
    ];
    for (const [i, [args, env, re, code]] of cases.entries()) {
      const outDir = join(dir, `bad${i}`);
      const r = await keyline(
        ['cert', 'issue', '--station', station, ...args, '--out', outDir],
        env,
      );
      assert.equal(r.code, code, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(existsSync(outDir), false, `case ${i} left ${outDir}`);
    }
  });

  it('ca import takes a customer CA (key passphrase from KEYLINE_IMPORT_PASSPHRASE)', async () => {
    await opensslCustomerCa(dir, 'customer pass');
    const st = join(dir, 'imported');
    const r = await keyline(
      [
        'ca',
        'import',
        '--station',
        st,
        '--cert',
        join(dir, 'cust-issuing.pem'),
        '--key',
        join(dir, 'cust-issuing.enc.pem'),
        '--json',
      ],
      { ...ENV, KEYLINE_IMPORT_PASSPHRASE: 'customer pass' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { issuingCa: { source: string } }).issuingCa.source,
      'imported',
    );
    const bad = await keyline(
      [
        'ca',
        'import',
        '--station',
        join(dir, 'imported-2'),
        '--cert',
        join(dir, 'cust-leaf.pem'),
        '--key',
        join(dir, 'cust-leaf.enc.pem'),
      ],
      { ...ENV, KEYLINE_IMPORT_PASSPHRASE: 'customer pass' },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a CA certificate/);
    assert.equal(existsSync(join(dir, 'imported-2')), false);
    const r2 = await openssl(
      ['x509', '-in', join(st, 'issuing-ca.pem'), '-noout', '-subject'],
      dir,
    );
    assert.match(r2.stdout, /Customer Issuing CA/);
  });
});
