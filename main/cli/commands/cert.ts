/**
 * `keyline cert issue --station DIR --imei I --iccid C --mcu-uid HEX --out DIR
 *   [--csr FILE --role modem|mcu] [--validity-days N] [--san-mode plain|hashed]
 *   [--plaintext-keys] [--json]`
 * Issues a board's modem and MCU certificates without hardware (integration and audits;
 * no ledger record is written). Private keys are written encrypted with
 * KEYLINE_KEY_PASSPHRASE (or a prompt), or — only with --plaintext-keys, for test
 * tooling — as *.key.PLAINTEXT.pem.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DEVICE_ROLES,
  decodePkcs8,
  encryptPrivateKeyPem,
  planDeviceCertificates,
  signDevicePlan,
  zeroizeKey,
  type DeviceProfile,
  type DeviceRole,
  type IssuedCertificate,
} from '../../../certs/index.ts';
import { openStation, writeFileAtomic } from '../../station/index.ts';
import { readSecret } from '../../station/secret-input.ts';
import { readUnlockSecret } from '../../hsm/unlock-secret.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

interface RoleOutput {
  serialHex: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  keySource: 'generated' | 'csr';
  certificate: string;
  key: string | null;
  keyEncrypted: boolean;
}

async function writeKey(
  issued: IssuedCertificate,
  path: string,
  keyPassphrase: string | null,
): Promise<void> {
  if (keyPassphrase === null) {
    writeFileAtomic(path, issued.privateKeyPem!, 0o600);
    return;
  }
  const key = decodePkcs8(issued.privateKeyPkcs8!, `${path}`);
  try {
    writeFileAtomic(path, await encryptPrivateKeyPem(key, keyPassphrase), 0o600);
  } finally {
    zeroizeKey(key);
  }
}

const USAGE = `usage:
  keyline cert issue --station DIR --imei I --iccid C --mcu-uid HEX --out DIR
      [--csr FILE --role modem|mcu] [--validity-days N] [--san-mode plain|hashed]
      [--plaintext-keys] [--json]

Writes modem.cert.pem, mcu.cert.pem, chain.pem and the generated private keys, encrypted
with KEYLINE_KEY_PASSPHRASE (or a prompt); --plaintext-keys writes *.key.PLAINTEXT.pem
instead (test tooling only). The station passphrase comes from KEYLINE_PASSPHRASE or a
prompt, the hashed-SAN salt from KEYLINE_SAN_SALT. No ledger record is written.
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['plaintext-keys']));
  if (flags.bool('help')) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [sub, ...extra] = flags.positionals;
  if (sub !== 'issue')
    throw new UsageError(
      'usage: keyline cert issue --station DIR --imei I --iccid C --mcu-uid HEX --out DIR',
    );
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const json = flags.bool('json');
  const stationDir = flags.required('station');
  const ids = {
    imei: flags.required('imei'),
    iccid: flags.required('iccid'),
    mcuUid: flags.required('mcu-uid'),
  };
  const outDir = resolve(flags.required('out'));
  const csrPath = flags.string('csr');
  const role = flags.string('role');
  const validityDays = flags.int('validity-days', 3650, 1, 36500);
  const sanMode = flags.string('san-mode') ?? 'plain';
  const plaintextKeys = flags.bool('plaintext-keys');
  flags.rejectUnknown();
  if ((csrPath === undefined) !== (role === undefined))
    throw new UsageError('--csr and --role go together');
  if (role !== undefined && role !== 'modem' && role !== 'mcu')
    throw new UsageError(`--role must be modem or mcu, got "${role}"`);
  if (sanMode !== 'plain' && sanMode !== 'hashed')
    throw new UsageError('--san-mode must be plain or hashed');
  const profile: Partial<DeviceProfile> = { validityDays, sanMode };
  if (sanMode === 'hashed')
    profile.sanSalt = await readSecret(io, 'KEYLINE_SAN_SALT', 'SAN hash salt');

  let csr: Partial<Record<DeviceRole, string>> | undefined;
  if (csrPath !== undefined && role !== undefined) {
    try {
      csr = { [role]: readFileSync(csrPath, 'utf8') };
    } catch (e) {
      throw new UsageError(
        `cannot read CSR ${csrPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  const needsKeyFile = DEVICE_ROLES.some((r) => r !== role);
  const keyPassphrase =
    plaintextKeys || !needsKeyFile
      ? null
      : await readSecret(io, 'KEYLINE_KEY_PASSPHRASE', 'passphrase for the device key files');
  const passphrase = await readUnlockSecret(io, stationDir);

  const station = await openStation(stationDir, passphrase);
  try {
    const plan = planDeviceCertificates({
      ids,
      issuerCertificateDer: station.issuer.certificateDer,
      profile,
      ...(csr ? { csr } : {}),
    });
    const issued = await signDevicePlan(plan, station.issuer);
    try {
      mkdirSync(outDir, { recursive: true, mode: 0o700 });
      const chainPath = join(outDir, 'chain.pem');
      writeFileAtomic(chainPath, station.issuer.chainPem, 0o644);
      const out = {} as Record<DeviceRole, RoleOutput>;
      for (const r of DEVICE_ROLES) {
        const c = issued[r];
        const certPath = join(outDir, `${r}.cert.pem`);
        writeFileAtomic(certPath, c.certificatePem, 0o644);
        let keyPath: string | null = null;
        if (c.privateKeyPkcs8) {
          keyPath = join(
            outDir,
            keyPassphrase === null ? `${r}.key.PLAINTEXT.pem` : `${r}.key.pem`,
          );
          await writeKey(c, keyPath, keyPassphrase);
        }
        out[r] = {
          serialHex: c.serialHex,
          fingerprintSha256: c.fingerprintSha256Hex,
          notBefore: c.notBefore.toISOString(),
          notAfter: c.notAfter.toISOString(),
          keySource: c.keySource,
          certificate: certPath,
          key: keyPath,
          keyEncrypted: keyPath !== null && keyPassphrase !== null,
        };
      }
      if (json)
        printJson(io, {
          ok: true,
          deviceId: issued.deviceId,
          ids: issued.ids,
          chain: chainPath,
          ...out,
        });
      else {
        const lines = [`issued ${issued.deviceId} into ${outDir}`];
        for (const r of DEVICE_ROLES)
          lines.push(
            `  ${r.padEnd(5)} serial ${out[r].serialHex}  sha256 ${out[r].fingerprintSha256}` +
              (out[r].key ? `  key ${out[r].key}` : '  key from CSR'),
          );
        io.stdout.write(lines.join('\n') + '\n');
      }
      return 0;
    } finally {
      issued.zeroize();
    }
  } finally {
    station.close();
  }
}
