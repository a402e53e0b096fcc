import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TransportClosedError } from '../../main/transport/transport.ts';
import { quectelChecksum, readModemState, type ModemFault } from '../../sim/modem/index.ts';
import { withModemHarness, type ModemHarness } from '../../sim/modem/harness.ts';

const hex = (d: Uint8Array) => quectelChecksum(d).toString(16);
const pattern = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);

async function qfupl(h: ModemHarness, name: string, data: Uint8Array, timeoutS = 10) {
  await h.send(`AT+QFUPL="${name}",${data.length},${timeoutS}\r`);
  await h.readUntil('\r\nCONNECT\r\n');
  await h.send(data);
  return h.readUntil(/\r\n(OK|ERROR)\r\n$/, 10_000);
}

const withFaults = (faults: ModemFault[], fn: (h: ModemHarness) => Promise<void>, seed = 1) =>
  withModemHarness({ faults, seed }, async (h) => {
    await h.at('ATE0');
    await fn(h);
  });

describe('modem simulator: faults', () => {
  it('stalls (no answer) on the nth matching command only', () =>
    withFaults([{ kind: 'stall', command: 'AT+QCCID', occurrence: 2 }], async (h) => {
      assert.match(await h.at('AT+QCCID'), /\+QCCID: /);
      await h.send('AT+QCCID\r');
      assert.equal(await h.drain(300), '', 'the second QCCID gets no answer');
      assert.equal(await h.at('AT'), '\r\nOK\r\n', 'the module still takes commands');
      assert.match(await h.at('AT+QCCID'), /\+QCCID: /);
    }));

  it('stalls on every matching command when no occurrence is given', () =>
    withFaults([{ kind: 'stall', command: 'at+qfupl' }], async (h) => {
      for (let i = 0; i < 2; i++) {
        await h.send('AT+QFUPL="a",10,1\r');
        assert.equal(await h.drain(200), '');
      }
      assert.equal(h.sim.files('UFS').size, 0);
    }));

  it('answers ERROR or +CME ERROR: n to a chosen command', () =>
    withFaults(
      [
        { kind: 'error', command: 'AT+GSN' },
        { kind: 'error', command: 'AT+QSSLCFG', cme: 407, occurrence: 1 },
      ],
      async (h) => {
        assert.equal(await h.at('AT+GSN'), '\r\nERROR\r\n');
        assert.equal(await h.at('AT+GSN'), '\r\nERROR\r\n');
        assert.equal(await h.at('AT+QSSLCFG="seclevel",1,2'), '\r\n+CME ERROR: 407\r\n');
        assert.equal(h.sim.sslConfig(1).seclevel, '0', 'the failed command changed nothing');
        assert.equal(await h.at('AT+QSSLCFG="seclevel",1,2'), '\r\nOK\r\n');
      },
    ));

  it('flips bits of one upload byte so the checksum mismatches, deterministically per seed', async () => {
    const data = pattern(64);
    const stored: Uint8Array[] = [];
    for (let run = 0; run < 2; run++)
      await withFaults([{ kind: 'corrupt-upload', offset: 5, occurrence: 1 }], async (h) => {
        const answer = await qfupl(h, 'c.bin', data);
        const got = h.sim.files('UFS').get('c.bin');
        assert.ok(got);
        stored.push(got);
        assert.equal(got.length, 64);
        assert.notEqual(got[5], data[5]);
        assert.deepEqual([...got].filter((b, i) => b !== data[i]).length, 1, 'one byte changed');
        assert.equal(answer, `\r\n+QFUPL: 64,${hex(got)}\r\n\r\nOK\r\n`);
        assert.notEqual(hex(got), hex(data));
        await h.at('AT+QFDEL="c.bin"');
        assert.equal(await qfupl(h, 'c.bin', data), `\r\n+QFUPL: 64,${hex(data)}\r\n\r\nOK\r\n`);
      });
    assert.deepEqual(stored[0], stored[1], 'same seed, same flip');
  });

  it('corrupts a QSECWRITE upload on the M66 the same way', () =>
    withModemHarness(
      { model: 'M66', faults: [{ kind: 'corrupt-upload', offset: 0 }] },
      async (h) => {
        await h.at('ATE0');
        const data = pattern(40);
        await h.send(`AT+QSECWRITE="NVRAM:CK0",40,10\r`);
        await h.readUntil('\r\nCONNECT\r\n');
        await h.send(data);
        const answer = await h.readUntil('OK\r\n');
        const got = h.sim.files('NVRAM').get('CK0');
        assert.ok(got && got[0] !== data[0]);
        assert.deepEqual(got.subarray(1), data.subarray(1));
        assert.equal(answer, `\r\n+QSECWRITE: 40,${hex(got)}\r\n\r\nOK\r\n`);
        assert.equal(
          await h.at('AT+QSECREAD="NVRAM:CK0"'),
          `\r\n+QSECREAD: 1,${hex(got)}\r\n\r\nOK\r\n`,
        );
      },
    ));

  it('drops one upload byte: the module waits, times out and reports one byte fewer', () =>
    withFaults([{ kind: 'drop-upload', offset: 3 }], async (h) => {
      const data = pattern(10);
      const kept = new Uint8Array([...data.subarray(0, 3), ...data.subarray(4)]);
      assert.equal(await qfupl(h, 'd.bin', data, 1), `\r\n+QFUPL: 9,${hex(kept)}\r\n\r\nOK\r\n`);
      assert.deepEqual(h.sim.files('UFS').get('d.bin'), kept);
    }));

  it('unplugs mid-upload after N bytes: hook called, port closed, nothing stored', async () => {
    let hookCalls = 0;
    const faults: ModemFault[] = [{ kind: 'unplug', command: 'AT+QFUPL', afterBytes: 600 }];
    await withModemHarness(
      {
        faults,
        onUnplug: async () => {
          hookCalls++;
        },
      },
      async (h) => {
        // The hook here does not close the pair; the simulator still closes its own end.
        await h.at('ATE0');
        await h.send('AT+QFUPL="big.bin",1000,5\r');
        await h.readUntil('\r\nCONNECT\r\n');
        await h.send(pattern(1000));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(hookCalls, 1);
        assert.equal(h.sim.files('UFS').size, 0);
        assert.equal(readModemState(h.stateFile).files.UFS.size, 0);
        assert.equal(h.sim.stats().bytesIn >= 600, true);
      },
    );
  });

  it('unplug with the fixture hook closes the line: the station sees the port close', () =>
    withModemHarness(
      { faults: [{ kind: 'unplug', command: 'AT+QFUPL', afterBytes: 100 }] },
      async (h) => {
        await h.at('ATE0');
        await h.send('AT+QFUPL="big.bin",1000,5\r');
        await h.readUntil('\r\nCONNECT\r\n');
        await h.send(pattern(1000)).catch(() => {});
        await assert.rejects(h.host.read(1, 5000), TransportClosedError);
        assert.equal(existsSync(h.pair.host), false);
      },
    ));

  it('unplugs at once on a command without afterBytes', () =>
    withModemHarness({ faults: [{ kind: 'unplug', command: 'ATI' }] }, async (h) => {
      await h.send('ATI\r');
      await assert.rejects(h.readUntil('OK\r\n', 5000), TransportClosedError);
    }));
});
