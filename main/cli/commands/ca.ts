/**
 * `keyline ca init --station DIR [--org NAME] [--force] [--json]` — development root +
 * issuing CA + ledger key, encrypted with the station passphrase (KEYLINE_PASSPHRASE or a
 * prompt).
 * `keyline ca import --station DIR --cert FILE --key FILE [--force] [--json]` — a station
 * around a customer's issuing CA (cert PEM, optionally followed by its chain; encrypted
 * PKCS#8 key whose passphrase comes from KEYLINE_IMPORT_PASSPHRASE or a prompt).
 */
import { readFileSync } from 'node:fs';
import { createStation, importIssuingCa, type StationInfo } from '../../station/index.ts';
import { readSecret } from '../../station/secret-input.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

function report(io: CliIO, json: boolean, verb: string, info: StationInfo): void {
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
    `  ledger key: Ed25519, SPKI sha256 ${info.ledgerPublicKeySpkiSha256}`,
  ];
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

const USAGE = `usage:
  keyline ca init --station DIR [--org NAME] [--force] [--json]
  keyline ca import --station DIR --cert FILE --key FILE [--force] [--json]

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
