/**
 * `keyline ui --port P [--station DIR] [--watch-port Q] [--rebuild] [--renderer-dir DIR]` —
 * the operator UI in a browser over a token-protected loopback bridge; `--watch-port` adds
 * a second, read-only bridge (its own token) on the same live station for a supervisor.
 * Prints the URLs and serves until interrupted.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createStationApp } from '../../app/station-app.ts';
import { buildRenderer, ensureRendererBuilt } from '../../bridge/build-renderer.ts';
import { startBridge, type BridgeServer } from '../../bridge/server.ts';
import { Flags, parseArgs } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['rebuild']));
  const port = flags.int('port', 5870, 0, 65535);
  const stationDir = resolve(
    flags.string('station') ?? io.env.KEYLINE_STATION ?? join(homedir(), '.keyline', 'station'),
  );
  const rebuild = flags.bool('rebuild');
  const watchPort = flags.has('watch-port') ? flags.int('watch-port', 0, 0, 65535) : null;
  const rendererDir = flags.string('renderer-dir');
  const json = flags.bool('json');
  flags.rejectUnknown();

  const log = (line: string) => {
    if (!json) io.stderr.write(`${line}\n`);
  };
  const dir = rebuild ? await buildRenderer(rendererDir) : await ensureRendererBuilt(rendererDir);
  const app = createStationApp({ stationDir, log });
  const bridges: BridgeServer[] = [];
  try {
    const common = { rendererDir: dir, dispatch: app.dispatch, events: app.events, log };
    bridges.push(await startBridge({ ...common, port }));
    if (watchPort !== null) {
      bridges.push(await startBridge({ ...common, port: watchPort, access: 'watch' }));
    }
  } catch (e) {
    await Promise.all(bridges.map((b) => b.close()));
    await app.dispose();
    throw e;
  }
  const [operate, watch] = bridges;
  if (json) {
    printJson(io, {
      url: operate.url,
      port: operate.port,
      station: stationDir,
      ...(watch ? { watchUrl: watch.url, watchPort: watch.port } : {}),
    });
  } else {
    io.stdout.write(`keyline ui: open ${operate.url}\n`);
    if (watch) io.stdout.write(`keyline ui: supervisor view (watch only): ${watch.url}\n`);
  }

  await new Promise<void>((done) => {
    if (io.signal.aborted) return done();
    io.signal.addEventListener('abort', () => done(), { once: true });
  });
  await Promise.all(bridges.map((b) => b.close()));
  await app.dispose();
  return 0;
}
