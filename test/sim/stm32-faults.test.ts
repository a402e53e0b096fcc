import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TransportClosedError } from '../../main/transport/transport.ts';
import type { BootloaderFault } from '../../sim/stm32/index.ts';
import { ACK, NACK, startRig, xor, type Rig } from './stm32-host.ts';

const FLASH = 0x0800_0000;
const UID = '0a0b0c0d0e0f101112131415';

describe('bootloader fault injection', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-stm32-faults-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function withFaults(
    faults: BootloaderFault[],
    body: (rig: Rig) => Promise<void>,
    latencyScale = 0,
  ): Promise<void> {
    const rig = await startRig(dir, `f${++n}`, { family: 'G0', uid: UID, faults, latencyScale });
    try {
      assert.equal(await rig.host.sync(), ACK);
      await body(rig);
    } finally {
      await rig.close();
    }
  }

  const block = (v: number) => new Uint8Array(8).fill(v);

  it('nack-write once: only the nth block is refused and a retry succeeds', () =>
    withFaults([{ kind: 'nack-write', block: 2 }], async ({ host, sim }) => {
      assert.equal(await host.write(FLASH, block(1)), 'ok');
      assert.equal(await host.write(FLASH + 8, block(2)), 'data');
      assert.deepEqual(sim.readFlash(FLASH + 8, 8), block(0xff), 'nothing written');
      assert.equal(await host.write(FLASH + 8, block(2)), 'ok');
      assert.deepEqual(sim.readFlash(FLASH + 8, 8), block(2));
      assert.deepEqual(sim.stats().faultsFired, ['nack-write block 2']);
    }));

  it('nack-write always: the nth block and every later one is refused', () =>
    withFaults([{ kind: 'nack-write', block: 2, always: true }], async ({ host, sim }) => {
      assert.equal(await host.write(FLASH, block(1)), 'ok');
      for (let i = 0; i < 3; i++) assert.equal(await host.write(FLASH + 8, block(2)), 'data');
      assert.deepEqual(sim.readFlash(FLASH + 8, 8), block(0xff));
    }));

  it('corrupt-ack: the nth final ACK of a step arrives bit-flipped, yet the step took effect', () =>
    withFaults([{ kind: 'corrupt-ack', step: 'write', occurrence: 2 }], async ({ host, sim }) => {
      assert.equal(await host.write(FLASH, block(1)), 'ok');
      const ans = await host.write(FLASH + 8, block(2));
      assert.equal(ans, 'data', 'the host did not get a clean ACK');
      assert.deepEqual(sim.readFlash(FLASH + 8, 8), block(2));
      const fired = sim.stats().faultsFired;
      assert.equal(fired.length, 1);
      const byte = Number.parseInt(/0x([0-9a-f]+)$/.exec(fired[0])?.[1] ?? 'x', 16);
      assert.notEqual(byte, ACK);
      assert.notEqual(byte, NACK);
      assert.equal([0, 1, 2, 3, 4, 5, 6, 7].filter((b) => ((byte ^ ACK) >> b) & 1).length, 1);
    }));

  it('a fault without an occurrence fires on the first match only', () =>
    withFaults([{ kind: 'corrupt-ack', step: 'write' }], async ({ host, sim }) => {
      assert.equal(await host.write(FLASH, block(1)), 'data');
      assert.equal(await host.write(FLASH + 8, block(2)), 'ok');
      assert.deepEqual(sim.readFlash(FLASH, 16), Uint8Array.from([...block(1), ...block(2)]));
      assert.equal(sim.stats().faultsFired.length, 1);
    }));

  it('corrupt-ack on sync: the 0x7F answer itself is damaged', async () => {
    const rig = await startRig(dir, 'sync-fault', {
      family: 'F4',
      uid: UID,
      faults: [{ kind: 'corrupt-ack', step: 'sync' }],
    });
    try {
      const first = await rig.host.sync();
      assert.notEqual(first, ACK);
      assert.notEqual(first, NACK);
      // The chip did lock on; a host resync (0x7F 0x7F) now gets NACK, then commands work.
      await rig.host.send([0x7f, 0x7f]);
      assert.equal(await rig.host.byte(), NACK);
      assert.equal(await rig.host.command(0x02), ACK);
    } finally {
      await rig.close();
    }
  });

  it('stall=<n>: the nth command gets no answer at all; the line recovers by resync', () =>
    withFaults([{ kind: 'stall', occurrence: 2 }], async ({ host, sim }) => {
      assert.equal(await host.command(0x01), ACK);
      await host.bytes(4);
      await host.send([0x02, 0xfd]);
      await assert.rejects(host.byte(500), /no answer/);
      await host.send([0x7f, 0x7f]);
      assert.equal(await host.byte(), NACK);
      assert.equal(await host.command(0x02), ACK);
      assert.deepEqual([...(await host.bytes(4))], [0x01, 0x04, 0x60, ACK]);
      assert.equal(sim.stats().faultsFired.length, 1);
    }));

  it('stall=<step>#n: the nth Read Memory is swallowed', () =>
    withFaults([{ kind: 'stall', step: 'read', occurrence: 2 }], async ({ host }) => {
      assert.ok((await host.read(FLASH, 4)) instanceof Uint8Array);
      await host.send([0x11, 0xee]);
      await assert.rejects(host.byte(500), /no answer/);
    }));

  it('corrupt-read and drop-read tamper with the nth Read Memory data only', () =>
    withFaults(
      [
        { kind: 'corrupt-read', offset: 3, occurrence: 1 },
        { kind: 'drop-read', offset: 0, occurrence: 2 },
      ],
      async ({ host, sim }) => {
        assert.equal(await host.write(FLASH, block(0x11)), 'ok');
        const r1 = (await host.read(FLASH, 8)) as Uint8Array;
        assert.deepEqual([...r1.subarray(0, 3)], [0x11, 0x11, 0x11]);
        assert.notEqual(r1[3], 0x11);
        assert.equal([0, 1, 2, 3, 4, 5, 6, 7].filter((b) => ((r1[3] ^ 0x11) >> b) & 1).length, 1);
        // Second read: one byte short. Ask for 8, get 7.
        assert.equal(await host.command(0x11), ACK);
        await host.send([0x08, 0x00, 0x00, 0x00, 0x08]);
        assert.equal(await host.byte(), ACK);
        await host.send([7, 7 ^ 0xff]);
        assert.equal(await host.byte(), ACK);
        assert.equal((await host.bytes(7)).length, 7);
        await assert.rejects(host.byte(300));
        // Third read is clean again; flash was never changed.
        assert.deepEqual(await host.read(FLASH, 8), block(0x11));
        assert.deepEqual(sim.readFlash(FLASH, 8), block(0x11));
      },
    ));

  it('slow-erase multiplies the modelled erase time', async () => {
    for (const [faults, expected] of [
      [[], 22],
      [[{ kind: 'slow-erase', factor: 4 }], 88],
    ] as const) {
      await withFaults(
        [...faults],
        async ({ host, sim }) => {
          const t0 = performance.now();
          assert.equal(await host.extendedErase([3]), 'ok');
          const took = performance.now() - t0;
          assert.equal(sim.stats().flashBusyMs, expected);
          // Wall time is at least the modelled time (never asserted as an upper bound).
          assert.ok(took >= expected * 0.9, `erase answered after ${took} ms`);
        },
        1,
      );
    }
  });

  it('unplug=write@n: the line drops after n bytes of the block; nothing is written', () =>
    withFaults([{ kind: 'unplug', step: 'write', occurrence: 2, afterBytes: 100 }], async (rig) => {
      const { host, sim } = rig;
      assert.equal(await host.write(FLASH, block(1)), 'ok');
      assert.equal(await host.command(0x31), ACK);
      await host.send([0x08, 0x00, 0x01, 0x00, 0x09]);
      assert.equal(await host.byte(), ACK);
      const data = new Uint8Array(256).fill(0x5a);
      await host.send([0xff, ...data, xor(data, 0xff)]).catch(() => undefined);
      await assert.rejects(host.byte(), TransportClosedError);
      assert.equal(sim.mode, 'unplugged');
      assert.equal(existsSync(rig.pair.host), false, 'the PTY link is gone');
      assert.deepEqual(sim.readFlash(FLASH + 0x100, 8), block(0xff));
      assert.deepEqual(sim.readFlash(FLASH, 8), block(1));
      assert.deepEqual(sim.stats().faultsFired, ['unplug write #2 after 100 bytes']);
    }));

  it('unplug=<step>: the line drops before any answer', () =>
    withFaults([{ kind: 'unplug', step: 'get-id' }], async ({ host, sim }) => {
      assert.equal(await host.command(0x01), ACK);
      await host.bytes(4);
      await host.send([0x02, 0xfd]);
      await assert.rejects(host.byte(), TransportClosedError);
      assert.equal(sim.mode, 'unplugged');
    }));

  it('the same faults and seed give the same corrupted bytes', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 2; i++) {
      const rig = await startRig(dir, `seed${i}`, {
        family: 'G0',
        uid: UID,
        seed: 42,
        faults: [{ kind: 'corrupt-read', offset: 0 }],
      });
      try {
        assert.equal(await rig.host.sync(), ACK);
        seen.push(((await rig.host.read(FLASH, 4)) as Uint8Array)[0]);
      } finally {
        await rig.close();
      }
    }
    assert.equal(seen[0], seen[1]);
    assert.notEqual(seen[0], 0xff);
  });
});
