/**
 * Device issuance throughput: keyline (both P-256 key pairs + both certificates + PEM, on
 * one core) against the openssl CLI doing the same per device (genpkey, req -new,
 * x509 -req for each of the two certificates). Prints one JSON line.
 *   node --import tsx bench/issuance.ts [--devices N] [--openssl-devices M]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevelopmentCa, encodePkcs8, pemEncode } from '../certs/index.ts';
import { issueBoard, memoryIssuer, numberArg } from './common.ts';

const devices = numberArg('devices', 300);
const opensslDevices = numberArg('openssl-devices', 10);
const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-'));
try {
  const ca = await createDevelopmentCa({ org: 'Bench' });
  const issuer = memoryIssuer(ca);

  for (let i = 0; i < 20; i++) await issueBoard(issuer, i); // warm-up (JIT, noble tables)
  let t = performance.now();
  for (let i = 0; i < devices; i++) await issueBoard(issuer, i);
  const keylineMs = performance.now() - t;

  writeFileSync(join(dir, 'issuing.pem'), pemEncode('CERTIFICATE', ca.issuing.certificateDer));
  writeFileSync(join(dir, 'issuing.key'), pemEncode('PRIVATE KEY', encodePkcs8(ca.issuing.key)), {
    mode: 0o600,
  });
  writeFileSync(
    join(dir, 'dev.cnf'),
    '[dev]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' +
      'subjectAltName=@san\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' +
      '[san]\nURI.1=urn:gsma:imei:35000000-000000-0\nURI.2=urn:keyline:iccid:8944500102198000000F\n',
  );
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  t = performance.now();
  for (let i = 0; i < opensslDevices; i++) {
    for (const role of ['modem', 'mcu']) {
      openssl([
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        `${role}.key`,
      ]);
      openssl([
        'req',
        '-new',
        '-key',
        `${role}.key`,
        '-subj',
        `/O=Bench/OU=${role}/CN=kl1-${i}`,
        '-out',
        `${role}.csr`,
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        `${role}.csr`,
        '-CA',
        'issuing.pem',
        '-CAkey',
        'issuing.key',
        '-set_serial',
        `0x${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex')}`,
        '-days',
        '3650',
        '-sha256',
        '-extfile',
        'dev.cnf',
        '-extensions',
        'dev',
        '-out',
        `${role}.pem`,
      ]);
    }
  }
  const opensslMs = performance.now() - t;
  ca.root.key.secret.fill(0);
  ca.issuing.key.secret.fill(0);
  issuer.signer.dispose();

  const keylinePerS = (devices * 1000) / keylineMs;
  const opensslPerS = (opensslDevices * 1000) / opensslMs;
  console.log(
    JSON.stringify({
      bench: 'issuance',
      keyline_devices_per_s: Number(keylinePerS.toFixed(1)),
      openssl_cli_devices_per_s: Number(opensslPerS.toFixed(2)),
      ratio: Number((keylinePerS / opensslPerS).toFixed(1)),
      target_ratio: 15,
      keyline_ms_per_device: Number((keylineMs / devices).toFixed(2)),
      openssl_ms_per_device: Number((opensslMs / opensslDevices).toFixed(1)),
      devices,
      openssl_devices: opensslDevices,
      cpus: cpus().length,
      loadavg_1m: Number(loadavg()[0].toFixed(2)),
      node: process.version,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
