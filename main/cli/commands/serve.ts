/**
 * `keyline serve --ledger EXPORT [--ledger EXPORT2 ...] --port P [--host 127.0.0.1]
 *   [--db FILE] [--cert FILE --key FILE] [--no-chains] [--json]`
 * Imports the exports (verified; a fork is refused) into the device store (SQLite, in
 * memory unless --db), then runs the reference mutual-TLS server until signalled. Without
 * --cert/--key it makes an ephemeral self-signed certificate and prints it. One JSON line
 * per decision on stdout.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createDeviceServer,
  ephemeralServerCertificate,
  importExport,
  SqliteDeviceStore,
} from '../../../server/index.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['no-chains']));
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
  flags.rejectUnknown();
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
  }
}
