/**
 * Which frames may talk to main: only the main frame of our own window, loaded from our
 * renderer file or the electron-vite dev server. Pure, so it is testable without Electron.
 */
export interface SenderFacts {
  /** URL of the frame that sent the message. */
  url: string;
  /** Whether that frame is the top-level frame of its page. */
  isMainFrame: boolean;
  /** Whether the page belongs to the station window. */
  fromStationWindow: boolean;
}

export interface TrustedOrigins {
  /** file:// URL of the built renderer's index.html. */
  rendererFileUrl: string;
  /** Dev server URL (electron-vite dev), if running in development. */
  devUrl: string | null;
}

export function isTrustedSender(sender: SenderFacts, trusted: TrustedOrigins): boolean {
  if (!sender.fromStationWindow || !sender.isMainFrame) return false;
  let url: URL;
  try {
    url = new URL(sender.url);
  } catch {
    return false;
  }
  if (url.protocol === 'file:') {
    const expected = new URL(trusted.rendererFileUrl);
    return url.pathname === expected.pathname;
  }
  if (trusted.devUrl) {
    const dev = new URL(trusted.devUrl);
    return url.origin === dev.origin;
  }
  return false;
}
