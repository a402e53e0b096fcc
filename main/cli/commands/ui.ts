/**
 * `keyline ui --port P [--station DIR] [--rebuild]` — the operator UI in a browser over a
 * token-protected loopback bridge. Prints the URL (with its per-start token) and serves
 * until interrupted.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createStationApp } from '../../app/station-app.ts';
import { buildRenderer, ensureRendererBuilt } from '../../bridge/build-renderer.ts';
import { startBridge } from '../../bridge/server.ts';
import { Flags, parseArgs } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['rebuild']));
  const port = flags.int('port', 5870, 0, 65535);
  const stationDir = resolve(
    flags.string('station') ?? io.env.KEYLINE_STATION ?? join(homedir(), '.keyline', 'station'),
  );
  const rebuild = flags.bool('rebuild');
  const rendererDir = flags.string('renderer-dir');
  const json = flags.bool('json');
  flags.rejectUnknown();

  const log = (line: string) => {
    if (!json) io.stderr.write(`${line}\n`);
  };
  const dir = rebuild ? await buildRenderer(rendererDir) : await ensureRendererBuilt(rendererDir);
  const app = createStationApp({ stationDir, log });
  let bridge;
  try {
    bridge = await startBridge({
      port,
      rendererDir: dir,
      dispatch: app.dispatch,
      events: app.events,
      log,
    });
  } catch (e) {
    await app.dispose();
    throw e;
  }
  if (json) printJson(io, { url: bridge.url, port: bridge.port, station: stationDir });
  else io.stdout.write(`keyline ui: open ${bridge.url}\n`);

  await new Promise<void>((done) => {
    if (io.signal.aborted) return done();
    io.signal.addEventListener('abort', () => done(), { once: true });
  });
  await bridge.close();
  await app.dispose();
  return 0;
}
