import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import {
  deriveEnvelopeKey,
  EnvelopeError,
  envelopeKeyId,
  openFromDevice,
  parseEnvelopeHeader,
  sealForServer,
} from '../../server/envelope/envelope.ts';
import { ReplayWindow } from '../../server/envelope/replay-window.ts';

const doc = readFileSync(new URL('../../docs/envelope.md', import.meta.url), 'utf8');
function block(name: string): string[] {
  const m = doc.match(new RegExp('```' + name + '\\n([\\s\\S]*?)```'));
  assert.ok(m, `docs/envelope.md has a ${name} block`);
  return m[1].split('\n').filter((l) => l.length > 0);
}
const keys = Object.fromEntries(block('vector-keys').map((l) => l.split(' ') as [string, string]));
const vectors = block('vector-envelopes').map((l) => {
  const first = l.indexOf(' ');
  const last = l.lastIndexOf(' ');
  return {
    counter: BigInt(l.slice(0, first)),
    plaintext: l.slice(first + 1, last),
    envelope: l.slice(last + 1),
  };
});
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const mcuPriv = h(keys['mcu-private']);
const srvPriv = h(keys['server-private']);
const mcuPub = h(keys['mcu-public']);
const srvPub = h(keys['server-public']);

describe('end-to-end envelope: documented test vectors', () => {
  it('public keys, key ID, Z and K match the document', () => {
    assert.equal(hex(p256.getPublicKey(mcuPriv, false)), keys['mcu-public']);
    assert.equal(hex(p256.getPublicKey(srvPriv, false)), keys['server-public']);
    assert.equal(hex(envelopeKeyId(mcuPub)), keys['key-id']);
    assert.equal(hex(deriveEnvelopeKey(mcuPriv, srvPub, mcuPub, srvPub)), keys.K);
    assert.equal(
      hex(deriveEnvelopeKey(srvPriv, mcuPub, mcuPub, srvPub)),
      keys.K,
      'both ends derive the same key',
    );
  });

  it('the openssl CLI derives the same Z and K independently', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyline-env-'));
    try {
      const pem = (priv: Uint8Array, name: string) => {
        // SEC1 ECPrivateKey DER for P-256 built by hand so openssl, not our code, does the ECDH.
        const der = Buffer.concat([
          Buffer.from('30310201010420', 'hex'),
          Buffer.from(priv),
          Buffer.from('a00a06082a8648ce3d030107', 'hex'),
        ]);
        const body = der.toString('base64');
        writeFileSync(
          join(dir, `${name}.pem`),
          `-----BEGIN EC PRIVATE KEY-----\n${body}\n-----END EC PRIVATE KEY-----\n`,
        );
      };
      pem(mcuPriv, 'mcu');
      pem(srvPriv, 'srv');
      execFileSync(
        'openssl',
        ['ec', '-in', join(dir, 'srv.pem'), '-pubout', '-out', join(dir, 'srv.pub.pem')],
        { stdio: 'pipe' },
      );
      const z = execFileSync('openssl', [
        'pkeyutl',
        '-derive',
        '-inkey',
        join(dir, 'mcu.pem'),
        '-peerkey',
        join(dir, 'srv.pub.pem'),
      ]);
      assert.equal(z.toString('hex'), keys.Z);
      const salt = execFileSync('openssl', ['dgst', '-sha256', '-binary'], {
        input: Buffer.concat([mcuPub, srvPub]),
      });
      const k = execFileSync('openssl', [
        'kdf',
        '-keylen',
        '32',
        '-kdfopt',
        'digest:SHA256',
        '-kdfopt',
        `hexkey:${keys.Z}`,
        '-kdfopt',
        `hexsalt:${salt.toString('hex')}`,
        '-kdfopt',
        `info:keyline/e2e/v1 device->server`,
        'HKDF',
      ])
        .toString()
        .trim()
        .replace(/:/g, '')
        .toLowerCase();
      assert.equal(k, keys.K);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const v of vectors) {
    it(`seals counter ${v.counter} to the documented bytes and opens it again`, () => {
      const sealed = sealForServer({
        mcuPrivateKey: mcuPriv,
        mcuPublicKey: mcuPub,
        serverPublicKey: srvPub,
        counter: v.counter,
        plaintext: new TextEncoder().encode(v.plaintext),
      });
      assert.equal(hex(sealed), v.envelope);
      const opened = openFromDevice(h(v.envelope), srvPriv, srvPub, mcuPub);
      assert.ok(opened.ok);
      assert.equal(new TextDecoder().decode(opened.plaintext), v.plaintext);
      assert.equal(opened.header.counter, v.counter);
    });
  }
});

describe('end-to-end envelope: rejection', () => {
  const env = h(vectors[0].envelope);

  it('any flipped bit in header, ciphertext or tag fails authentication (or parsing)', () => {
    for (let i = 0; i < env.length; i++) {
      const bad = env.slice();
      bad[i] ^= 0x01;
      let ok = false;
      try {
        const r = openFromDevice(bad, srvPriv, srvPub, mcuPub);
        ok = r.ok;
      } catch (e) {
        assert.ok(e instanceof EnvelopeError, `byte ${i}: ${String(e)}`);
      }
      assert.equal(ok, false, `flipping byte ${i} must not be accepted`);
    }
  });

  it('an envelope sealed with another MCU key does not open under this device', () => {
    const other = p256.utils.randomSecretKey();
    const forged = sealForServer({
      mcuPrivateKey: other,
      mcuPublicKey: mcuPub,
      serverPublicKey: srvPub,
      counter: 9n,
      plaintext: new Uint8Array([1]),
    });
    const r = openFromDevice(forged, srvPriv, srvPub, mcuPub);
    assert.equal(r.ok, false);
  });

  it('rejects truncated and oversized envelopes with typed errors', () => {
    assert.throws(
      () => parseEnvelopeHeader(env.subarray(0, 30)),
      (e: unknown) => e instanceof EnvelopeError && e.reason === 'malformed',
    );
    const big = new Uint8Array(20 + 4097 + 16);
    big.set(env.subarray(0, 20));
    assert.throws(
      () => parseEnvelopeHeader(big),
      (e: unknown) => e instanceof EnvelopeError && e.reason === 'too-large',
    );
  });
});

describe('replay window', () => {
  it('accepts each counter once, tolerates reordering inside the window, refuses older', () => {
    const w = new ReplayWindow(64);
    for (const c of [5n, 7n, 6n]) {
      assert.equal(w.check(c), 'fresh');
      w.accept(c);
    }
    assert.equal(w.check(6n), 'replay');
    assert.equal(w.check(5n), 'replay');
    assert.equal(w.check(4n), 'fresh');
    w.accept(200n);
    assert.equal(w.check(7n), 'too-old');
    assert.equal(w.check(200n), 'replay');
    assert.equal(w.check(137n), 'fresh');
    assert.equal(w.check(136n), 'too-old');
    const r = ReplayWindow.restore(w.highestAccepted, w.seenBits);
    assert.equal(r.check(200n), 'replay');
  });
});
