import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  BLOB_HEADER_SIZE,
  CredentialBlobError,
  decodeCredentialBlob,
  encodeCredentialBlob,
  type CredentialBlobFields,
} from '../../main/mcu/credential-blob.ts';
import { crc32 } from '../../main/mcu/crc32.ts';

const docPath = new URL('../../docs/credential-blob.md', import.meta.url);

/** The inputs the worked example in docs/credential-blob.md states. */
function exampleFields(): CredentialBlobFields {
  return {
    deviceId: 'kl1-70f85d3f9036f695f8508881',
    mcuUid: '3a0021000b51333233353530',
    mcuPrivateKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
    mcuCertificateDer: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x2a),
    serverPublicKey: p256.Point.BASE.toBytes(false),
    modemCertSha256: Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i),
  };
}

/** Realistic fields: random key, certificate-sized DER bodies, a CA certificate. */
function realisticFields(): CredentialBlobFields {
  const der = (len: number, seed: number) => {
    const b = Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff);
    b[0] = 0x30;
    return b;
  };
  const server = p256.utils.randomSecretKey();
  return {
    deviceId: 'kl1-0123456789abcdef01234567',
    mcuUid: '0085004c3136501120383048',
    mcuPrivateKey: p256.utils.randomSecretKey(),
    mcuCertificateDer: der(611, 7),
    serverPublicKey: p256.getPublicKey(server, false),
    serverCaCertificateDer: der(473, 3),
    modemCertSha256: sha256(new TextEncoder().encode('modem certificate')),
  };
}

function docExampleBytes(): Uint8Array {
  const doc = readFileSync(docPath, 'utf8');
  const section = doc
    .split('<!-- worked-example:begin -->')[1]
    .split('<!-- worked-example:end -->')[0];
  const bytes: number[] = [];
  let expectOffset = 0;
  for (const line of section.split('\n')) {
    const m = /^([0-9a-f]{4}): ((?:[0-9a-f]{2} ?)+)$/.exec(line.trim());
    if (!m) continue;
    assert.equal(parseInt(m[1], 16), expectOffset, 'offsets in the dump are consecutive');
    const row = m[2]
      .trim()
      .split(' ')
      .map((h) => parseInt(h, 16));
    bytes.push(...row);
    expectOffset += row.length;
  }
  return Uint8Array.from(bytes);
}

function assertBlobError(fn: () => unknown, problem?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CredentialBlobError, `expected CredentialBlobError, got ${String(e)}`);
    if (problem) assert.equal(e.problem, problem);
    return true;
  });
}

describe('credential blob v1', () => {
  it('encodes the worked example in docs/credential-blob.md byte for byte', () => {
    const fromDoc = docExampleBytes();
    assert.equal(fromDoc.length, 224);
    assert.deepEqual(encodeCredentialBlob(exampleFields()), fromDoc);
  });

  it('uses the zlib CRC-32 for the trailer', () => {
    const blob = encodeCredentialBlob(realisticFields());
    const body = blob.subarray(0, blob.length - 4);
    assert.equal(crc32(body), zlibCrc32(body));
    assert.equal(new DataView(blob.buffer).getUint32(blob.length - 4, true), zlibCrc32(body));
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926, 'CRC-32 check value');
  });

  it('round-trips every field, with and without a CA certificate, ignoring erased flash after it', () => {
    for (const fields of [exampleFields(), realisticFields()]) {
      const blob = encodeCredentialBlob(fields);
      assert.equal(blob.length % 4, 0);
      const page = new Uint8Array(2048).fill(0xff);
      page.set(blob);
      const d = decodeCredentialBlob(page);
      assert.equal(d.version, 1);
      assert.equal(d.totalLength, blob.length);
      assert.equal(d.deviceId, fields.deviceId);
      assert.equal(d.mcuUid, fields.mcuUid);
      assert.deepEqual(d.mcuPrivateKey, fields.mcuPrivateKey);
      assert.deepEqual(d.mcuCertificateDer, fields.mcuCertificateDer);
      assert.deepEqual(d.serverPublicKey, fields.serverPublicKey);
      assert.deepEqual(d.modemCertSha256, fields.modemCertSha256);
      assert.deepEqual(d.serverCaCertificateDer, fields.serverCaCertificateDer);
    }
  });

  it('rejects every single flipped byte with a typed error', () => {
    const blob = encodeCredentialBlob(realisticFields());
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = blob.slice();
        bad[i] ^= mask;
        assertBlobError(() => decodeCredentialBlob(bad));
      }
    }
  });

  it('rejects truncation at every length', () => {
    const blob = encodeCredentialBlob(exampleFields());
    for (let n = 0; n < blob.length; n++)
      assertBlobError(() => decodeCredentialBlob(blob.subarray(0, n)), 'truncated');
  });

  it('rejects a wrong magic and an unknown version by name', () => {
    const blob = encodeCredentialBlob(exampleFields());
    const magic = blob.slice();
    magic.set([0x4b, 0x4c, 0x43, 0x43]);
    assertBlobError(() => decodeCredentialBlob(magic), 'magic');
    // A well-formed future version (CRC recomputed) is still refused: the version is checked first.
    const v2 = blob.slice();
    v2[4] = 2;
    new DataView(v2.buffer).setUint32(v2.length - 4, crc32(v2.subarray(0, v2.length - 4)), true);
    assertBlobError(() => decodeCredentialBlob(v2), 'version');
    assertBlobError(() => decodeCredentialBlob(new Uint8Array(2048).fill(0xff)), 'magic');
  });

  it('rejects structurally wrong blobs even when their CRC is right', () => {
    const blob = encodeCredentialBlob(exampleFields());
    const withCrc = (mutate: (b: Uint8Array) => void) => {
      const b = blob.slice();
      mutate(b);
      new DataView(b.buffer).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
      return b;
    };
    assertBlobError(
      () => decodeCredentialBlob(withCrc((b) => (b[BLOB_HEADER_SIZE + 6] = 1))),
      'field',
    ); // padding
    assertBlobError(() => decodeCredentialBlob(withCrc((b) => (b[12] = 2))), 'field'); // unknown flag
    assertBlobError(() => decodeCredentialBlob(withCrc((b) => (b[20] = 9))), 'field'); // cert length
    assertBlobError(() => decodeCredentialBlob(withCrc((b) => (b[144] = 0x02))), 'field'); // not uncompressed
    assertBlobError(() => decodeCredentialBlob(withCrc((b) => b.fill(0, 80, 112))), 'field'); // zero scalar
  });

  it('refuses to encode invalid fields without echoing key bytes', () => {
    const f = exampleFields();
    const cases: Array<Partial<CredentialBlobFields>> = [
      { deviceId: '' },
      { deviceId: 'x'.repeat(32) },
      { mcuUid: '3A0021000B51333233353530' },
      { mcuPrivateKey: new Uint8Array(32) },
      { mcuPrivateKey: new Uint8Array(32).fill(0xff) },
      { serverPublicKey: Uint8Array.of(4, ...new Uint8Array(64)) },
      { modemCertSha256: new Uint8Array(20) },
      { mcuCertificateDer: Uint8Array.of(0x02, 0x01, 0x00) },
    ];
    for (const c of cases) {
      assert.throws(
        () => encodeCredentialBlob({ ...f, ...c }),
        (e: unknown) =>
          e instanceof CredentialBlobError &&
          e.problem === 'field' &&
          !e.message.includes('0102030405'),
      );
    }
  });
});

describe('the C reader in docs/credential-blob.md', () => {
  let dir: string;
  const hasCc = spawnSync('cc', ['--version']).status === 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-blob-c-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'compiles and accepts the encoder output, rejecting a corrupted copy',
    { skip: hasCc ? false : 'no C compiler' },
    () => {
      const doc = readFileSync(docPath, 'utf8');
      const cCode = /```c\n([\s\S]*?)```/.exec(doc)?.[1];
      assert.ok(cCode, 'doc has a C block');
      const main = `
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb"); static uint8_t page[4096]; size_t n = fread(page, 1, sizeof page, f); fclose(f);
  const kl_cred_header_t *h = kl_cred_find(page, n);
  if (!h) { puts("reject"); return 1; }
  printf("%s %u %u %u %02x%02x\\n", h->device_id, h->total_length, h->mcu_cert_length, h->ca_cert_length,
         h->server_public_key[0], h->mcu_private_key[31]);
  return 0;
}`;
      writeFileSync(join(dir, 'reader.c'), cCode + main);
      const cc = spawnSync(
        'cc',
        ['-std=c11', '-Wall', '-Werror', '-o', join(dir, 'reader'), join(dir, 'reader.c')],
        { encoding: 'utf8' },
      );
      assert.equal(cc.status, 0, cc.stderr);

      const fields = realisticFields();
      const blob = encodeCredentialBlob(fields);
      const page = new Uint8Array(4096).fill(0xff);
      page.set(blob);
      writeFileSync(join(dir, 'good.bin'), page);
      const ok = spawnSync(join(dir, 'reader'), [join(dir, 'good.bin')], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stdout);
      const lastKeyByte = fields.mcuPrivateKey[31].toString(16).padStart(2, '0');
      assert.equal(ok.stdout.trim(), `${fields.deviceId} ${blob.length} 611 473 04${lastKeyByte}`);

      page[300] ^= 0x10;
      writeFileSync(join(dir, 'bad.bin'), page);
      const bad = spawnSync(join(dir, 'reader'), [join(dir, 'bad.bin')], { encoding: 'utf8' });
      assert.equal(bad.status, 1);
      assert.equal(bad.stdout.trim(), 'reject');
    },
  );
});
