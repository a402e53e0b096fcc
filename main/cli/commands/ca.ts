/**
 * `keyline ca init --station DIR [--org NAME] [--force] [--json]` — development root +
 * issuing CA + ledger key, encrypted with the station passphrase (KEYLINE_PASSPHRASE or a
 * prompt).
 * `keyline ca import --station DIR --cert FILE --key FILE [--force] [--json]` — a station
 * around a customer's issuing CA (cert PEM, optionally followed by its chain; encrypted
 * PKCS#8 key whose passphrase comes from KEYLINE_IMPORT_PASSPHRASE or a prompt).
 * With `--pkcs11 MODULE --token LABEL` the issuing CA and ledger keys live in a PKCS#11
 * token instead (PIN from KEYLINE_PIN or a prompt; docs/hsm.md).
 */
import { readFileSync } from 'node:fs';
import { createPkcs11Station, importPkcs11Ca } from '../../hsm/pkcs11-station.ts';
import { createStation, importIssuingCa, type StationInfo } from '../../station/index.ts';
import { readSecret } from '../../station/secret-input.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

type ReportedInfo = StationInfo & {
  keys?: {
    issuingCa: { token: string; label: string };
    ledger: { token: string; label: string; algorithm: string };
  };
  rootKeyFile?: string;
};

function report(io: CliIO, json: boolean, verb: string, info: ReportedInfo): void {
  if (json) {
    printJson(io, { ok: true, ...info });
    return;
  }
  const lines = [
    `${verb} station ${info.stationId} in ${info.dir}`,
    `  issuing CA: ${info.issuingCa.subject} (sha256 ${info.issuingCa.fingerprintSha256})`,
    info.rootCa
      ? `  root CA:    ${info.rootCa.subject} (sha256 ${info.rootCa.fingerprintSha256})`
      : '  root CA:    not supplied (chain ends at the issuing CA)',
    info.keys
      ? `  ledger key: ${info.keys.ledger.algorithm} in token "${info.keys.ledger.token}" as "${info.keys.ledger.label}", SPKI sha256 ${info.ledgerPublicKeySpkiSha256}`
      : `  ledger key: Ed25519, SPKI sha256 ${info.ledgerPublicKeySpkiSha256}`,
  ];
  if (info.keys)
    lines.push(
      `  CA key:     in token "${info.keys.issuingCa.token}" as "${info.keys.issuingCa.label}" (not extractable)`,
    );
  if (info.rootKeyFile)
    lines.push(`  root key:   encrypted in ${info.rootKeyFile} (keep it offline)`);
  if (info.replacedDir) lines.push(`  previous station moved to ${info.replacedDir}`);
  io.stdout.write(lines.join('\n') + '\n');
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

/** --ledger-key auto|p256 (token stations): P-256 for tokens whose EdDSA is missing or unreliable. */
function ledgerKeyFlag(flags: Flags): 'auto' | 'p256' {
  const v = flags.string('ledger-key') ?? 'auto';
  if (v !== 'auto' && v !== 'p256') throw new UsageError('--ledger-key must be auto or p256');
  return v;
}

const USAGE = `usage:
  keyline ca init --station DIR [--org NAME] [--force] [--json]
  keyline ca import --station DIR --cert FILE --key FILE [--force] [--json]
  keyline ca init --station DIR --pkcs11 MODULE --token LABEL [--root-out DIR] [--ledger-key auto|p256] [--org NAME] [--force] [--json]
  keyline ca import --station DIR --pkcs11 MODULE --token LABEL --key-label L --cert FILE [--ledger-key auto|p256] [--force] [--json]

With --pkcs11 the issuing CA key and the ledger key live in the token; the PIN comes from
KEYLINE_PIN or a prompt. ca init --pkcs11 encrypts the development root key with
KEYLINE_PASSPHRASE and keeps it in the station dir, or in --root-out DIR for offline keeping.
The station passphrase comes from KEYLINE_PASSPHRASE or a prompt; the imported key's own
passphrase from KEYLINE_IMPORT_PASSPHRASE or a prompt. Passphrases are never taken from
the command line. --force moves an existing station aside instead of refusing.
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['force']));
  if (flags.bool('help')) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [sub, ...extra] = flags.positionals;
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const json = flags.bool('json');
  if (sub === 'init') {
    const dir = flags.required('station');
    const organization = flags.string('org');
    const force = flags.bool('force');
    const module = flags.string('pkcs11');
    if (module !== undefined) {
      const token = flags.required('token');
      const rootOut = flags.string('root-out');
      const ledgerKey = ledgerKeyFlag(flags);
      flags.rejectUnknown();
      const pin = await readSecret(io, 'KEYLINE_PIN', 'token PIN');
      const rootPassphrase = await readSecret(
        io,
        'KEYLINE_PASSPHRASE',
        'passphrase for the development root key',
        true,
      );
      const info = await createPkcs11Station(dir, { module, token }, pin, {
        rootPassphrase,
        force,
        ledgerKey,
        ...(organization ? { organization } : {}),
        ...(rootOut ? { rootOut } : {}),
      });
      report(io, json, 'created', info);
      return 0;
    }
    flags.rejectUnknown();
    const passphrase = await readSecret(io, 'KEYLINE_PASSPHRASE', 'station passphrase', true);
    const info = await createStation(dir, passphrase, {
      force,
      ...(organization ? { organization } : {}),
    });
    report(io, json, 'created', info);
    return 0;
  }
  if (sub === 'import') {
    const dir = flags.required('station');
    const certPath = flags.required('cert');
    const module = flags.string('pkcs11');
    if (module !== undefined) {
      const token = flags.required('token');
      const keyLabel = flags.required('key-label');
      const force = flags.bool('force');
      const ledgerKey = ledgerKeyFlag(flags);
      flags.rejectUnknown();
      const certificatePem = readText(certPath, 'certificate');
      const pin = await readSecret(io, 'KEYLINE_PIN', 'token PIN');
      const info = await importPkcs11Ca(dir, { module, token }, pin, {
        keyLabel,
        certificatePem,
        force,
        ledgerKey,
      });
      report(io, json, 'imported CA into', info);
      return 0;
    }
    const keyPath = flags.required('key');
    const force = flags.bool('force');
    flags.rejectUnknown();
    const certificatePem = readText(certPath, 'certificate');
    const keyPem = readText(keyPath, 'key');
    const keyPassphrase = await readSecret(
      io,
      'KEYLINE_IMPORT_PASSPHRASE',
      'passphrase of the key to import',
    );
    const passphrase = await readSecret(io, 'KEYLINE_PASSPHRASE', 'station passphrase', true);
    const info = await importIssuingCa(dir, passphrase, {
      certificatePem,
      keyPem,
      keyPassphrase,
      force,
    });
    report(io, json, 'imported CA into', info);
    return 0;
  }
  throw new UsageError('usage: keyline ca init|import --station DIR ...');
}
