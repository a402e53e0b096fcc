import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { encodeCredentialBlob } from '../../main/mcu/credential-blob.ts';
import {
  CredentialBlobReadError,
  deriveSealingKey,
  readCredentialBlob,
  seal,
} from '../../sim/field/index.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function docBlock(doc: string, start: string, end = '```'): string {
  const text = readFileSync(`${repoRoot}docs/${doc}`, 'utf8');
  const from = text.indexOf(start);
  assert.ok(from >= 0, `${doc} has ${start}`);
  const body = text.slice(from + start.length);
  return body.slice(0, body.indexOf(end));
}

/** The worked example's 224 bytes, from the hex dump in docs/credential-blob.md. */
function workedExample(): Uint8Array {
  const dump = docBlock(
    'credential-blob.md',
    '<!-- worked-example:begin -->',
    '<!-- worked-example:end -->',
  );
  const bytes = dump
    .split('\n')
    .filter((l) => /^[0-9a-f]{4}:/.test(l))
    .flatMap((l) => l.slice(5).trim().split(/\s+/));
  return unhex(bytes.join(''));
}

const EXAMPLE_UID = '3a0021000b51333233353530';

test('the firmware reads the documented worked example field by field', () => {
  const blob = workedExample();
  assert.equal(blob.length, 224);
  const page = new Uint8Array(4096).fill(0xff);
  page.set(blob);
  const c = readCredentialBlob(page, EXAMPLE_UID.toUpperCase());
  assert.equal(c.deviceId, 'kl1-70f85d3f9036f695f8508881');
  assert.equal(c.mcuUid, EXAMPLE_UID);
  assert.deepEqual(
    c.mcuPrivateKey,
    Uint8Array.from({ length: 32 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    c.modemCertSha256,
    Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i),
  );
  assert.equal(hex(c.serverPublicKey), p256.Point.BASE.toHex(false));
  assert.deepEqual(c.mcuCertificateDer, Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x2a));
  assert.equal(c.serverCaCertificateDer, null);
});

test("the firmware's reader agrees with the station's encoder, CA certificate included", () => {
  const key = p256.utils.randomSecretKey();
  const server = p256.getPublicKey(p256.utils.randomSecretKey(), false);
  const mcuCert = Uint8Array.from([0x30, 0x82, 0x01, 0x00, ...new Uint8Array(256).fill(7)]);
  const caCert = Uint8Array.of(0x30, 0x05, 1, 2, 3, 4, 5);
  const uid = 'aabbccddeeff001122334455';
  const blob = encodeCredentialBlob({
    deviceId: 'kl1-000102030405060708090a0b',
    mcuUid: uid,
    mcuPrivateKey: key,
    mcuCertificateDer: mcuCert,
    serverPublicKey: server,
    serverCaCertificateDer: caCert,
    modemCertSha256: new Uint8Array(32).fill(9),
  });
  const c = readCredentialBlob(blob, uid);
  assert.equal(c.deviceId, 'kl1-000102030405060708090a0b');
  assert.deepEqual(c.mcuPrivateKey, key);
  assert.deepEqual(c.serverPublicKey, server);
  assert.deepEqual(c.mcuCertificateDer, mcuCert);
  assert.deepEqual(c.serverCaCertificateDer, caCert);
});

test('the firmware refuses an erased page, a corrupt blob and a blob copied from another chip', () => {
  const blob = workedExample();
  const check = (bytes: Uint8Array, uid: string, expected: string) =>
    assert.throws(
      () => readCredentialBlob(bytes, uid),
      (e: unknown) => e instanceof CredentialBlobReadError && e.check === expected,
      expected,
    );
  check(new Uint8Array(4096).fill(0xff), EXAMPLE_UID, 'magic');
  const flipped = Uint8Array.from(blob);
  flipped[100] ^= 1;
  check(flipped, EXAMPLE_UID, 'crc');
  const v2 = Uint8Array.from(blob);
  v2[4] = 2;
  check(v2, EXAMPLE_UID, 'version');
  const odd = Uint8Array.from(blob);
  odd[8] = 0xe1;
  check(odd, EXAMPLE_UID, 'length');
  check(blob, 'ffffffffffffffffffffffff', 'uid');
  check(blob.subarray(0, 100), EXAMPLE_UID, 'size');
});

test("the firmware's sealer reproduces every vector in docs/envelope.md", () => {
  const keys = Object.fromEntries(
    docBlock('envelope.md', '```vector-keys\n')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  const sk = deriveSealingKey(unhex(keys['mcu-private']), unhex(keys['server-public']));
  assert.equal(hex(sk.keyId), keys['key-id']);
  assert.equal(hex(sk.k), keys.K);
  const lines = docBlock('envelope.md', '```vector-envelopes\n').trim().split('\n');
  assert.equal(lines.length, 3);
  for (const l of lines) {
    const first = l.indexOf(' ');
    const last = l.lastIndexOf(' ');
    const counter = BigInt(l.slice(0, first));
    const plaintext = new TextEncoder().encode(l.slice(first + 1, last));
    assert.equal(hex(seal(sk, counter, plaintext)), l.slice(last + 1), `counter ${counter}`);
  }
});
