import type { Signer } from '../../certs/signer.ts';
import { Pkcs11Token, Pkcs11TokenError } from './pkcs11-token.ts';

/** Where a station key lives inside a token (the `pkcs11` key location of station.json). */
export interface TokenKeyLocation {
  kind: 'pkcs11';
  module: string;
  token: string;
  label: string;
}

/** Opens signers for token-held station keys; one session per token, shared by its keys. */
export interface TokenSignerOpener {
  open(location: TokenKeyLocation): Signer;
  /** Closes every session this opener still holds (signers not yet disposed stop working). */
  closeAll(): void;
}

/**
 * Makes an opener that logs in with `pin`. Both station keys usually live in one token;
 * they share its session, which closes when the last of its signers is disposed. A wrong
 * PIN surfaces as Pkcs11TokenError code 'wrong-pin' (the station's guard counts it).
 */
export function createTokenSignerOpener(pin: string): TokenSignerOpener {
  const open = new Map<string, { token: Pkcs11Token; users: number }>();
  const release = (id: string) => {
    const entry = open.get(id);
    if (!entry) return;
    if (--entry.users > 0) return;
    open.delete(id);
    entry.token.close();
  };
  return {
    open(location) {
      const id = `${location.module}\u0000${location.token}`;
      let entry = open.get(id);
      if (!entry) {
        entry = {
          token: Pkcs11Token.open({ modulePath: location.module, tokenLabel: location.token }, pin),
          users: 0,
        };
        open.set(id, entry);
      }
      entry.users++;
      try {
        const key = entry.token.findKey(location.label);
        if (!key)
          throw new Pkcs11TokenError(
            'no-key',
            `token "${location.token}" holds no private key labelled "${location.label}"`,
          );
        const inner = entry.token.signer(key);
        let disposed = false;
        return {
          algorithm: inner.algorithm,
          location: inner.location,
          publicKeySpki: () => inner.publicKeySpki(),
          sign: (data) => inner.sign(data),
          dispose: () => {
            if (disposed) return;
            disposed = true;
            inner.dispose();
            release(id);
          },
        };
      } catch (e) {
        release(id);
        throw e;
      }
    },
    closeAll() {
      for (const [id, entry] of open) {
        open.delete(id);
        entry.token.close();
      }
    },
  };
}

/** True for the error a wrong PIN produces (what the unlock guard counts). */
export function isWrongPinError(e: unknown): boolean {
  return e instanceof Pkcs11TokenError && e.code === 'wrong-pin';
}
