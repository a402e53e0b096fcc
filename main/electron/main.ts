/**
 * Electron entry: wires the station service (main/app) to one window. Holds no logic of
 * its own — everything the UI can do is a contract channel handled in main/app.
 */
import { app, BrowserWindow } from 'electron';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStationApp } from '../app/station-app.ts';
import { startBridge } from '../bridge/server.ts';
import { ipcFor } from './ipc.ts';
import { createStationWindow, defaultPaths, hardenSession, rendererFileUrl } from './window.ts';

const paths = defaultPaths(fileURLToPath(new URL('.', import.meta.url)));
let win: BrowserWindow | null = null;

async function start(): Promise<void> {
  hardenSession(paths.devUrl);
  const station = createStationApp({
    stationDir: process.env.KEYLINE_STATION ?? join(homedir(), '.keyline', 'station'),
    log: (line) => console.log(line),
  });
  ipcFor({
    window: () => win,
    trusted: { rendererFileUrl: rendererFileUrl(paths), devUrl: paths.devUrl },
    secrets: station.secrets,
  }).registerHandlers(station.handlers);
  station.events.connect((channel, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
  });
  // Optional supervisor view of this live station: a watch-only loopback bridge.
  const watchPort = process.env.KEYLINE_WATCH_PORT;
  const watch = watchPort
    ? await startBridge({
        port: Number(watchPort),
        rendererDir: dirname(paths.rendererHtml),
        dispatch: station.dispatch,
        events: station.events,
        access: 'watch',
        log: (line) => console.log(line),
      })
    : null;
  if (watch) console.log(`keyline: supervisor view (watch only): ${watch.url}`);
  win = await createStationWindow(paths);
  win.on('closed', () => {
    win = null;
  });
  // Quit waits (once) for the station to stop its batch, fixture and ledger cleanly.
  let disposed = false;
  app.on('before-quit', (e) => {
    if (disposed) return;
    e.preventDefault();
    disposed = true;
    void Promise.resolve(watch?.close())
      .then(() => station.dispose())
      .finally(() => app.quit());
  });
}

app.on('window-all-closed', () => app.quit());
app
  .whenReady()
  .then(start)
  .catch((e: unknown) => {
    console.error(`keyline: ${(e as Error).message}`);
    app.exit(1);
  });
