import * as pkijs from 'pkijs';
import { webcrypto } from 'node:crypto';

/**
 * pkijs needs its crypto engine set once, synchronously, before anything calls into it.
 * Importing this module does that (from Node's WebCrypto); every certs/ module that uses
 * pkijs imports it first. Idempotent: a second import is the same module instance.
 */
let installed = false;

export function ensurePkijsEngine(): void {
  if (installed) return;
  pkijs.setEngine(
    'node-webcrypto',
    new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as Crypto }),
  );
  installed = true;
}

ensurePkijsEngine();

export { pkijs };
