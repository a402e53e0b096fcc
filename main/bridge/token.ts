import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random token for one bridge start (192 bits, URL-safe). */
export function newBridgeToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The WebSocket subprotocol that carries the token: browsers cannot set headers. */
export const tokenProtocolPrefix = 'token.';
export const bridgeProtocol = 'keyline.v1';

/** Constant-time check of the token offered in `Sec-WebSocket-Protocol`. */
export function offeredTokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const offered = header
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(tokenProtocolPrefix));
  if (!offered) return false;
  const a = Buffer.from(offered.slice(tokenProtocolPrefix.length));
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
