import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  NonCanonicalError,
  canonicalDecode,
  canonicalEncode,
  canonicalString,
} from '../../ledger/canonical.ts';
import { RecordFormatError, buildRecord, decodeRecord } from '../../ledger/records.ts';
import { intentFor } from './helpers.ts';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('canonical JSON', () => {
  it('sorts keys by UTF-16 code units, drops no member, and writes no whitespace', () => {
    assert.equal(
      canonicalString({ b: 1, a: [true, null, 'x'], é: 'é', A: { z: 0, y: -3 } }),
      '{"A":{"y":-3,"z":0},"a":[true,null,"x"],"b":1,"é":"é"}',
    );
    assert.equal(
      canonicalString({ '\u20ac': 1, '\ud83d\ude00': 2, '\ufb33': 3 }),
      '{"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3}',
    );
  });

  it('refuses floats, unsafe integers and values JSON cannot hold', () => {
    for (const v of [1.5, 2 ** 53, -0, NaN, Infinity, () => 1, 10n])
      assert.throws(() => canonicalEncode({ v }), NonCanonicalError);
  });

  it('decodes only the canonical spelling', () => {
    assert.deepEqual(canonicalDecode(bytes('{"a":1,"b":"x"}')), { a: 1, b: 'x' });
    for (const text of [
      '{"b":1,"a":1}',
      '{"a": 1}',
      '{"a":1}\n',
      '{"a":1,"a":1}',
      '{"a":1.0}',
      '{"a":1e2}',
      '{"a":"\\u0041"}',
      '\ufeff{"a":1}',
      '{"a":01}',
    ])
      assert.throws(() => canonicalDecode(bytes(text)), NonCanonicalError, text);
    assert.throws(() => canonicalDecode(new Uint8Array([0x22, 0xff, 0x22])), /UTF-8/);
  });

  it('round-trips any integer/string/bool JSON value byte for byte', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string({ unit: 'binary', maxLength: 16 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        const enc = canonicalEncode(v);
        assert.deepEqual(canonicalEncode(canonicalDecode(enc)), enc);
      }),
      { numRuns: 60 },
    );
  });

  it('accepts a JSON text exactly when re-encoding its value gives the same text', () => {
    // The decoder validates the text in one pass; the reference is parse + re-encode.
    const key = fc.string({
      unit: fc.constantFrom('a', 'b', 'é', '\u{1f600}', '"', '\\', '\n', '\ud800', '1', '0'),
      maxLength: 3,
    });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -20, max: 20 }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    // Spellings a writer might produce: whitespace, other escapes, number forms, key order.
    const respell = (text: string, pick: number): string => {
      switch (pick % 7) {
        case 0:
          return text.replace(/,/, ', ');
        case 1:
          return text.replace(/"b"/, '"\\u0062"');
        case 2:
          return text.replace(/:(-?)(\d+)/, ':$1$2.0');
        case 3:
          return text.replace(/:(-?)(\d+)/, ':$1$2e0');
        case 4:
          return text.replace(/:0/, ':-0');
        case 5:
          return text.replace(/\\ud800/, '\\uD800');
        default:
          return JSON.stringify(JSON.parse(text), null, pick % 3);
      }
    };
    const reference = (text: string): boolean => {
      try {
        return canonicalString(JSON.parse(text)) === text;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(json, fc.nat(), (v, pick) => {
        const canonical = canonicalString(v);
        for (const text of [canonical, respell(canonical, pick), JSON.stringify(v)]) {
          let accepted = true;
          try {
            canonicalDecode(bytes(text));
          } catch (e) {
            assert.ok(e instanceof NonCanonicalError);
            accepted = false;
          }
          assert.equal(accepted, reference(text), text);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('ledger records', () => {
  it('round-trips a record and refuses unknown fields or reserved types', () => {
    const { record, bytes: b } = buildRecord(intentFor(1), new Date('2026-01-01T00:00:00Z'));
    assert.equal(record.time, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(decodeRecord(b), record);
    assert.throws(() => buildRecord({ ...intentFor(1), extra: 1 } as never), RecordFormatError);
    assert.throws(
      () => decodeRecord(canonicalEncode({ type: 'batch-start', v: 1, time: record.time })),
      RecordFormatError,
    );
    const text = Buffer.from(b).toString().replace('"v":1', '"v":2');
    assert.throws(() => decodeRecord(bytes(text)), RecordFormatError);
  });
});
