import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyLine } from '../../main/modem/line-classifier.ts';
import { AtLineSplitter, type AtToken, type NextOptions } from '../../main/modem/line-splitter.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const MAX = 64;

/** Feeds chunks one by one, draining after each; checks the buffering bound as it goes. */
function feed(chunks: Uint8Array[], opts: NextOptions = {}, max = MAX): AtToken[] {
  const s = new AtLineSplitter(max);
  const out: AtToken[] = [];
  for (const c of chunks) {
    s.push(c);
    let guard = 0;
    for (let t = s.next(opts); t; t = s.next(opts)) {
      out.push(t);
      assert.ok(++guard <= c.length + 1, 'more tokens than bytes: the splitter loops');
    }
    assert.ok(s.buffered <= max, `holds ${s.buffered} bytes after draining, cap is ${max}`);
  }
  return out;
}

/** Splits bytes at the given cut points (any order, any values). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) out.push(bytes.slice(prev, p));
    prev = Math.max(prev, p);
  }
  return out;
}

describe('AtLineSplitter', () => {
  it('splits \\r\\n-framed answers and skips empty lines', () => {
    const toks = feed([enc('\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n')]);
    assert.deepEqual(
      toks.map((t) => (t.kind === 'line' ? t.text : t.kind)),
      ['Quectel', 'EC25', 'Revision: EC25EFAR06A06M4G', 'OK'],
    );
  });

  it('sees the echo line ended by a lone \\r', () => {
    const toks = feed([enc('ATE0\r\r\nOK\r\n')]);
    assert.deepEqual(toks, [
      { kind: 'line', text: 'ATE0' },
      { kind: 'line', text: 'OK' },
    ]);
  });

  it('hands raw data after CONNECT back byte-exact, CRLF of CONNECT excluded', () => {
    const s = new AtLineSplitter(MAX);
    s.push(enc('\r\nCONNECT 5\r'));
    assert.deepEqual(s.next(), { kind: 'line', text: 'CONNECT 5' });
    s.push(Uint8Array.of(0x0a, 0x0d, 0x0a, 0x00, 0xff, 0x41, 0x0d));
    assert.deepEqual([...s.takeRaw(5)], [0x0d, 0x0a, 0x00, 0xff, 0x41]);
    s.push(enc('\nOK\r\n'));
    assert.deepEqual(s.next(), { kind: 'line', text: 'OK' });
  });

  it('drops the LF of CONNECT\\r\\n even when it arrives after the switch to raw data', () => {
    const s = new AtLineSplitter(MAX);
    s.push(enc('CONNECT 3\r'));
    assert.deepEqual(s.next(), { kind: 'line', text: 'CONNECT 3' });
    assert.equal(s.takeRaw(3).length, 0);
    s.push(Uint8Array.of(0x0a, 0x01, 0x02, 0x03));
    assert.deepEqual([...s.takeRaw(3)], [1, 2, 3]);
  });

  it('recognises the > prompt and upload acks only when armed', () => {
    assert.deepEqual(feed([enc('\r\n> ')], { prompt: true }), [{ kind: 'prompt' }]);
    assert.deepEqual(feed([enc('AA\r\n+QFUPL: 3,1\r\n')], { acks: true }), [
      { kind: 'ack' },
      { kind: 'ack' },
      { kind: 'line', text: '+QFUPL: 3,1' },
    ]);
    assert.deepEqual(feed([enc('APP RDY\r\n')]), [{ kind: 'line', text: 'APP RDY' }]);
  });

  it('reports an over-long line at once, drops it to its end, then carries on', () => {
    const toks = feed([enc('x'.repeat(MAX * 10)), enc('y'.repeat(MAX * 3) + '\r\nOK\r\n')]);
    assert.deepEqual(toks, [
      { kind: 'overflow', dropped: MAX + 1 },
      { kind: 'line', text: 'OK' },
    ]);
  });

  it('flags control and 8-bit bytes as garbage, escaped for messages', () => {
    const toks = feed([Uint8Array.of(0x4f, 0x00, 0x4b, 0xff, 0x0d, 0x0a)]);
    assert.deepEqual(toks, [{ kind: 'garbage', text: 'O\\x00K\\xff' }]);
  });

  it('property: any bytes in any chunking — no throw, bounded buffer, ends', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.record({ prompt: fc.boolean(), acks: fc.boolean() }),
        (bytes, cuts, opts) => {
          feed(cut(bytes, cuts), opts);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: tokens do not depend on how the stream is chunked', () => {
    const alphabet = fc.constantFrom(0x0d, 0x0a, 0x41, 0x3e, 0x20, 0x4f, 0x4b, 0x00, 0xff, 0x2b);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.array(alphabet, { maxLength: 600 }).map((a) => Uint8Array.from(a)),
        ),
        fc.array(fc.nat(), { maxLength: 30 }),
        (bytes, cuts) => {
          assert.deepEqual(feed(cut(bytes, cuts)), feed([bytes]));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: well-formed lines with mixed terminators come back exactly', () => {
    const text = fc
      .array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 1, maxLength: MAX })
      .map((a) => String.fromCharCode(...a))
      .filter((s) => s.trim() !== '');
    const term = fc.constantFrom('\r\n', '\n', '\r', '\r\n\r\n');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, term), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (lines, cuts) => {
          const stream = enc(lines.map(([l, t]) => l + t).join(''));
          const got = feed(cut(stream, cuts));
          assert.deepEqual(
            got,
            lines.map(([l]) => ({ kind: 'line', text: l.trim() })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: adversarial streams (huge lines, floods of terminators) stay bounded', () => {
    const piece = fc.oneof(
      fc.constant(enc('OK\r\n')),
      fc.constant(enc('\r'.repeat(500))),
      fc.integer({ min: 1, max: 5000 }).map((n) => new Uint8Array(n).fill(0x78)),
      fc.constant(enc('+CME ERROR: 407\r\n')),
      fc.uint8Array({ maxLength: 100 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const toks = feed(pieces);
        for (const t of toks) if (t.kind === 'line') assert.ok(t.text.length <= MAX);
      }),
      { numRuns: 200 },
    );
  });

  it('property: the classifier is total over any line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 40 }), (line, cmd) => {
        const c = classifyLine(line, cmd);
        assert.ok(['ok', 'error', 'connect', 'urc', 'info'].includes(c.kind));
      }),
      { numRuns: 500 },
    );
  });
});
