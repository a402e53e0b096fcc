/**
 * `keyline serve --ledger EXPORT [--ledger EXPORT2 ...] --port P [--host 127.0.0.1]
 *   [--db FILE] [--cert FILE --key FILE] [--no-chains] [--e2e-key FILE [--create-e2e-key]]
 *   [--refuse-readable-keys] [--json]`
 * Imports the exports (verified; a fork is refused) into the device store (SQLite, in
 * memory unless --db), then runs the reference mutual-TLS server until signalled. Without
 * --cert/--key it makes an ephemeral self-signed certificate and prints it. One JSON line
 * per decision on stdout.
 *
 * With --e2e-key the server also accepts end-to-end envelopes (docs/field.md) inside the
 * TLS session, opened with its P-256 key: an encrypted PKCS#8 PEM whose passphrase comes
 * from KEYLINE_E2E_PASSPHRASE or a prompt. --create-e2e-key makes that file when it does
 * not exist and prints the public key the product profile's endToEnd.serverPublicKeyHex
 * must carry.
 *
 * --refuse-readable-keys refuses devices whose modem key the station audit found readable
 * over AT, unless --e2e-key makes this server take only MCU-sealed payloads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  SqliteDeviceStore,
} from '../../../server/index.ts';
import {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  generateP256,
  toHex,
  zeroizeKey,
} from '../../../certs/index.ts';
import type { EndToEndServerKey } from '../../../server/index.ts';
import { writeFileAtomic } from '../../station/index.ts';
import { readSecret } from '../../station/secret-input.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['no-chains', 'create-e2e-key', 'refuse-readable-keys']));
  const json = flags.bool('json');
  const exports = flags.all('ledger');
  if (exports.length === 0) throw new UsageError('missing --ledger EXPORT');
  const port = flags.int('port', -1, 0, 65535);
  if (port < 0) throw new UsageError('missing --port');
  const host = flags.string('host') ?? '127.0.0.1';
  const db = flags.string('db');
  const certFile = flags.string('cert');
  const keyFile = flags.string('key');
  const checkChains = !flags.bool('no-chains');
  const e2eKeyFile = flags.string('e2e-key');
  const createE2eKey = flags.bool('create-e2e-key');
  const refuseReadableKeys = flags.bool('refuse-readable-keys');
  flags.rejectUnknown();
  if (createE2eKey && !e2eKeyFile) throw new UsageError('--create-e2e-key needs --e2e-key FILE');
  const e2eKey = e2eKeyFile
    ? await loadEndToEndKey(resolve(e2eKeyFile), createE2eKey, io)
    : undefined;
  if (e2eKey) {
    const info = { event: 'e2e-key', serverPublicKeyHex: toHex(e2eKey.publicKey) };
    if (json) printJson(io, info);
    else io.stdout.write(`end-to-end key ${info.serverPublicKeyHex}\n`);
  }
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('--cert and --key go together');

  const store = new SqliteDeviceStore(db ? resolve(db) : ':memory:');
  try {
    for (const e of exports) {
      const r = importExport(store, resolve(e), { checkChains });
      if (json) printJson(io, { event: 'imported', export: resolve(e), ...r });
      else
        io.stdout.write(
          `imported ${resolve(e)}: station ${r.stationId} records ${r.previousSize}..${r.treeSize - 1}, ` +
            `${r.devicesAdded} devices, ${r.devicesRevoked} revoked\n`,
        );
    }
    const tls =
      certFile && keyFile
        ? {
            cert: readFileSync(resolve(certFile), 'utf8'),
            key: readFileSync(resolve(keyFile), 'utf8'),
          }
        : await ephemeralServerCertificate(
            host === '127.0.0.1' || host === 'localhost' ? [] : [host],
          );
    const server = await createDeviceServer({
      store,
      tls,
      port,
      host,
      onDecision: (d) => printJson(io, { event: 'decision', ...d }),
      refuseReadableModemKeyUnlessSealed: refuseReadableKeys,
      ...(e2eKey
        ? {
            endToEnd: {
              key: e2eKey,
              onDecision: (d) => printJson(io, d),
            },
          }
        : {}),
    });
    try {
      const listening = {
        event: 'listening',
        host,
        port: server.port,
        ephemeralCertificate: certFile ? null : tls.cert,
      };
      if (json) printJson(io, listening);
      else io.stdout.write(`listening on ${host}:${server.port}\n${certFile ? '' : tls.cert}`);
      if (!io.signal.aborted)
        await new Promise((r) => io.signal.addEventListener('abort', r, { once: true }));
    } finally {
      await server.close();
    }
    return 0;
  } finally {
    store.close();
    e2eKey?.privateKey.fill(0);
  }
}

/** Reads (or, asked to, creates) the server's end-to-end key; encrypted at rest. */
async function loadEndToEndKey(
  path: string,
  create: boolean,
  io: CliIO,
): Promise<EndToEndServerKey> {
  const what = 'end-to-end key passphrase';
  if (!existsSync(path)) {
    if (!create)
      throw new UsageError(`no end-to-end key at ${path} (add --create-e2e-key to make one)`);
    const passphrase = await readSecret(io, 'KEYLINE_E2E_PASSPHRASE', what, true);
    const key = generateP256();
    try {
      writeFileAtomic(path, await encryptPrivateKeyPem(key, passphrase), 0o600);
      return { privateKey: key.secret.slice(), publicKey: key.publicKey };
    } finally {
      zeroizeKey(key);
    }
  }
  const key = await decryptPrivateKeyPem(
    readFileSync(path, 'utf8'),
    await readSecret(io, 'KEYLINE_E2E_PASSPHRASE', what),
    'end-to-end key',
  );
  if (key.algorithm !== 'p256') {
    zeroizeKey(key);
    throw new UsageError(`${path}: the end-to-end key must be P-256`);
  }
  return { privateKey: key.secret, publicKey: key.publicKey };
}
