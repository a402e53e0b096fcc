/**
 * Content-Security-Policy of the station UI. The meta tag in renderer/index.html carries
 * the bridge variant (it must also allow the loopback WebSocket); Electron adds the
 * stricter header, and a page obeys both.
 */
export const electronCsp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The bridge serves the same renderer and needs its own loopback WebSocket. */
export function bridgeCsp(port: number): string {
  return electronCsp.replace("connect-src 'self'", `connect-src 'self' ws://127.0.0.1:${port}`);
}
