/**
 * The station window and the session rules around it: sandboxed renderer, CSP header,
 * no navigation, no popups, no permissions, no remote content.
 */
import { app, BrowserWindow, session, type WebContents } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { electronCsp } from './csp.ts';

export interface WindowPaths {
  preload: string;
  rendererHtml: string;
  devUrl: string | null;
}

/**
 * Applies the hardening that does not depend on a particular window. Only our own files
 * (and the electron-vite dev server, when `devUrl` is set) may load; everything else is
 * cancelled, so no remote content ever reaches the renderer.
 */
export function hardenSession(devUrl: string | null): void {
  const ses = session.defaultSession;
  const devOrigin = devUrl ? new URL(devUrl).origin : null;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [electronCsp],
      },
    });
  });
  ses.webRequest.onBeforeRequest((details, callback) => {
    const url = details.url;
    let allowed = url.startsWith('file://') || url.startsWith('devtools://');
    if (!allowed && devOrigin) {
      try {
        const u = new URL(url);
        allowed = u.origin === devOrigin || u.origin === devOrigin.replace(/^http/, 'ws');
      } catch {
        allowed = false;
      }
    }
    callback({ cancel: !allowed });
  });
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (e) => e.preventDefault());
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

export function rendererFileUrl(paths: WindowPaths): string {
  return pathToFileURL(paths.rendererHtml).href;
}

export async function createStationWindow(paths: WindowPaths): Promise<BrowserWindow> {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    backgroundColor: '#14171a',
    title: 'keyline station',
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  if (paths.devUrl) await win.loadURL(paths.devUrl);
  else await win.loadFile(paths.rendererHtml);
  return win;
}

/** Where electron-vite put the bundles, relative to out/main/index.js. */
export function defaultPaths(mainDir: string): WindowPaths {
  return {
    preload: join(mainDir, '../preload/index.cjs'),
    rendererHtml: join(mainDir, '../renderer/index.html'),
    devUrl: process.env.ELECTRON_RENDERER_URL ?? null,
  };
}
