import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModemSimulator } from '../../sim/modem/index.ts';
import { withModemHarness } from '../../sim/modem/harness.ts';

const baud = 115_200;
const size = 4096;
const wireMs = ModemSimulator.wireTimeMs(size, baud); // ≈ 356 ms

describe('modem simulator: pacing at 115200 baud', () => {
  it('takes at least the wire time to take in an upload and to send a file back', () =>
    withModemHarness({ baud, latencyScale: 0, personality: 'exposed' }, async (h) => {
      await h.at('ATE0');
      const data = new Uint8Array(size).map((_, i) => i & 0xff);
      await h.send(`AT+QFUPL="pace.bin",${size},10\r`);
      await h.readUntil('\r\nCONNECT\r\n');
      const t0 = performance.now();
      await h.send(data);
      await h.readUntil('OK\r\n', 10_000);
      const upMs = performance.now() - t0;
      assert.ok(upMs >= 0.8 * wireMs, `upload answered after ${upMs} ms, wire time ${wireMs} ms`);

      const t1 = performance.now();
      const out = await h.at('AT+QFDWL="pace.bin"', 10_000);
      const downMs = performance.now() - t1;
      assert.ok(out.length > size);
      assert.ok(downMs >= 0.8 * wireMs, `download took ${downMs} ms, wire time ${wireMs} ms`);

      const s = h.sim.stats();
      assert.equal(s.modelledLatencyMs, 0);
      assert.ok(s.bytesIn >= size && s.bytesOut >= size);
      assert.equal(
        ModemSimulator.lowerBoundMs(s, baud),
        ModemSimulator.wireTimeMs(s.bytesIn + s.bytesOut, baud),
      );
    }));

  it('counts scaled command latency in stats', () =>
    withModemHarness({ latencyScale: 0.5, latency: { simpleMs: 10 } }, async (h) => {
      await h.at('AT');
      await h.at('ATI');
      const s = h.sim.stats();
      assert.equal(s.commands, 2);
      assert.equal(s.modelledLatencyMs, 10);
    }));
});
