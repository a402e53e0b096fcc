import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HardwareIdError } from '../../certs/hardware-ids.ts';
import {
  BootloaderSimError,
  BootloaderSimulator,
  UnknownFamilyError,
  metaPathFor,
} from '../../sim/stm32/index.ts';
import { ACK, NACK, startRig, xor } from './stm32-host.ts';

const FLASH = 0x0800_0000;
const erased4 = Uint8Array.from([0xff, 0xff, 0xff, 0xff]);

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('read-out and write protection, persistence, per-family erase', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-stm32-prot-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Readout Protect: two ACKs, reset, then memory commands NACK and RDP persists', async () => {
    const uid = '0102030405060708090a0b0c';
    let rig = await startRig(dir, 'rdp', { family: 'L4', uid });
    try {
      const { host, sim } = rig;
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.write(FLASH + 0x800, Uint8Array.from([1, 2, 3, 4])), 'ok');
      assert.equal(await host.command(0x82), ACK);
      assert.equal(await host.byte(), ACK, 'second ACK after the option bytes change');
      await waitFor(() => sim.mode === 'awaiting-sync', 'the reset');
      assert.equal(sim.rdpLevel, 1);
      assert.equal(await host.sync(), ACK);
      // Identification still works under RDP 1; memory access does not.
      assert.equal(await host.command(0x02), ACK);
      assert.deepEqual([...(await host.bytes(4))], [0x01, 0x04, 0x35, ACK]);
      assert.equal(await host.read(FLASH, 4), 'cmd');
      assert.equal(await host.read(0x1fff7590, 12), 'cmd');
      assert.equal(await host.write(FLASH + 0x1000, Uint8Array.from([1, 2, 3, 4])), 'cmd');
      assert.equal(await host.extendedErase([0]), 'cmd');
      assert.equal(await host.go(FLASH), 'cmd');
      assert.equal(await host.command(0x82), NACK, 'already protected');
      const meta = JSON.parse(readFileSync(metaPathFor(sim.stateFile), 'utf8')) as {
        rdpLevel: number;
      };
      assert.equal(meta.rdpLevel, 1);
    } finally {
      await rig.close();
    }
    // A rerun on the same state file is the same protected board with the same flash.
    rig = await startRig(dir, 'rdp', { family: 'L4', uid });
    try {
      const { host, sim } = rig;
      assert.equal(sim.rdpLevel, 1);
      assert.deepEqual(sim.readFlash(FLASH + 0x800, 4), Uint8Array.from([1, 2, 3, 4]));
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.read(FLASH, 4), 'cmd');
      // Readout Unprotect: ACK, mass erase, ACK, reset; RDP 0 and flash blank.
      assert.equal(await host.command(0x92), ACK);
      assert.equal(await host.byte(40_000), ACK);
      await waitFor(() => sim.mode === 'awaiting-sync', 'the reset');
      assert.equal(sim.rdpLevel, 0);
      assert.deepEqual(sim.readFlash(FLASH + 0x800, 4), erased4);
      assert.equal(await host.sync(), ACK);
      assert.deepEqual(await host.read(FLASH + 0x800, 4), erased4);
      // Reading the option bytes shows RDP back at 0xAA.
      assert.equal(((await host.read(0x1fff7800, 4)) as Uint8Array)[0], 0xaa);
    } finally {
      await rig.close();
    }
  });

  it('refuses bad options with typed errors before touching any file', async () => {
    const base = {
      devicePath: '/nonexistent',
      family: 'F4' as const,
      uid: '0102030405060708090a0b0c',
      baud: 115200,
      stateFile: join(dir, 'never.bin'),
    };
    await assert.rejects(BootloaderSimulator.start({ ...base, baud: 0 }), BootloaderSimError);
    await assert.rejects(
      BootloaderSimulator.start({ ...base, latencyScale: -1 }),
      BootloaderSimError,
    );
    await assert.rejects(
      BootloaderSimulator.start({ ...base, family: 'H7' as unknown as 'F4' }),
      UnknownFamilyError,
    );
    await assert.rejects(
      BootloaderSimulator.start({ ...base, uid: 'ffffffffffffffffffffffff' }),
      HardwareIdError,
    );
    assert.equal(existsSync(base.stateFile), false);
  });

  it('refuses a state file that belongs to another board', async () => {
    const rig = await startRig(dir, 'other', { family: 'G0', uid: 'aabbccddeeff001122334455' });
    await rig.close();
    await assert.rejects(
      startRig(dir, 'other', { family: 'G0', uid: 'aabbccddeeff001122334466' }),
      /belongs to UID/,
    );
    await assert.rejects(
      startRig(dir, 'other', { family: 'F4', uid: 'aabbccddeeff001122334455' }),
      /belongs to a G0 board/,
    );
  });

  it('Write Protect locks sectors (writes and erases NACK) until Write Unprotect', async () => {
    const rig = await startRig(dir, 'wp', { family: 'F4', uid: '111111111111111111111111' });
    try {
      const { host, sim } = rig;
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.write(FLASH + 0x8000, Uint8Array.from([7, 7, 7, 7])), 'ok');
      assert.equal(await host.command(0x63), ACK);
      await host.send([0x00, 0x02, xor([0x00, 0x02])]);
      assert.equal(await host.byte(), ACK);
      await waitFor(() => sim.mode === 'awaiting-sync', 'the reset');
      assert.deepEqual(sim.writeProtectedSectors, [2]);
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.write(FLASH + 0x8004, Uint8Array.from([1, 1, 1, 1])), 'data');
      assert.equal(await host.extendedErase([2]), 'list');
      assert.equal(await host.extendedErase(0xffff), 'list');
      assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), Uint8Array.from([7, 7, 7, 7]));
      // nWRP in the option bytes shows sector 2 protected.
      const ob = (await host.read(0x1fffc000, 16)) as Uint8Array;
      assert.equal(ob[8] & 0x04, 0);
      assert.equal(await host.write(FLASH + 0x4000, Uint8Array.from([1, 1, 1, 1])), 'ok');
      assert.equal(await host.command(0x73), ACK);
      assert.equal(await host.byte(), ACK);
      await waitFor(() => sim.mode === 'awaiting-sync', 'the reset');
      assert.deepEqual(sim.writeProtectedSectors, []);
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.extendedErase([2]), 'ok');
      assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), erased4);
    } finally {
      await rig.close();
    }
  });

  it('F1 lists and serves the classic Erase 0x43 (page list and global) and NACKs 0x44', async () => {
    const rig = await startRig(dir, 'f1', { family: 'F1', uid: '222222222222222222222222' });
    try {
      const { host, sim } = rig;
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.command(0x00), ACK);
      const [n, ver] = await host.bytes(2);
      const codes = [...(await host.bytes(n))];
      assert.equal(await host.byte(), ACK);
      assert.equal(ver, 0x22);
      assert.ok(codes.includes(0x43) && !codes.includes(0x44));
      assert.equal(await host.command(0x44), NACK);
      for (const a of [FLASH, FLASH + 0x400, FLASH + 0x800])
        assert.equal(await host.write(a, Uint8Array.from([3, 3, 3, 3])), 'ok');
      // Erase pages 0 and 2 (1 KiB pages).
      assert.equal(await host.command(0x43), ACK);
      await host.send([0x01, 0x00, 0x02, xor([0x01, 0x00, 0x02])]);
      assert.equal(await host.byte(), ACK);
      assert.deepEqual(sim.readFlash(FLASH, 4), erased4);
      assert.deepEqual(sim.readFlash(FLASH + 0x400, 4), Uint8Array.from([3, 3, 3, 3]));
      assert.deepEqual(sim.readFlash(FLASH + 0x800, 4), erased4);
      // Bad checksum → NACK and nothing erased.
      assert.equal(await host.command(0x43), ACK);
      await host.send([0x00, 0x01, 0x00]);
      assert.equal(await host.byte(), NACK);
      assert.deepEqual(sim.readFlash(FLASH + 0x400, 4), Uint8Array.from([3, 3, 3, 3]));
      // Global erase: 0xFF 0x00.
      assert.equal(await host.command(0x43), ACK);
      await host.send([0xff, 0x00]);
      assert.equal(await host.byte(), ACK);
      assert.deepEqual(sim.readFlash(FLASH + 0x400, 4), erased4);
      // F1 UID and flash size (128 KiB).
      assert.equal(
        Buffer.from((await host.read(0x1ffff7e8, 12)) as Uint8Array).toString('hex'),
        '222222222222222222222222',
      );
      assert.deepEqual([...((await host.read(0x1ffff7e0, 2)) as Uint8Array)], [0x80, 0x00]);
    } finally {
      await rig.close();
    }
  });

  it('L4 and G0 erase 2 KiB pages and expose UID/flash size at 0x1FFF7590/0x1FFF75E0', async () => {
    for (const [family, kib] of [
      ['L4', 256],
      ['G0', 128],
    ] as const) {
      const uid = family === 'L4' ? '333333333333333333333333' : '444444444444444444444444';
      const rig = await startRig(dir, family, { family, uid });
      try {
        const { host, sim } = rig;
        assert.equal(await host.sync(), ACK);
        assert.equal(await host.write(FLASH + 0x7fc, Uint8Array.from([1, 1, 1, 1])), 'ok');
        assert.equal(await host.write(FLASH + 0x800, Uint8Array.from([2, 2, 2, 2])), 'ok');
        assert.equal(await host.extendedErase([1]), 'ok');
        assert.deepEqual(sim.readFlash(FLASH + 0x7fc, 4), Uint8Array.from([1, 1, 1, 1]));
        assert.deepEqual(sim.readFlash(FLASH + 0x800, 4), erased4);
        const block = (await host.read(0x1fff7500, 256)) as Uint8Array;
        assert.equal(Buffer.from(block.subarray(0x90, 0x9c)).toString('hex'), uid);
        assert.equal(block[0xe0] | (block[0xe1] << 8), kib);
        assert.equal(await host.extendedErase([kib / 2]), 'list', 'one page past the end');
      } finally {
        await rig.close();
      }
    }
  });

  it('optionally copies the small-signature-read quirk: 12-byte UID reads NACK, 256-byte blocks work', async () => {
    const uid = '666666666666666666666666';
    const rig = await startRig(dir, 'quirk', { family: 'F4', uid, smallSignatureReadQuirk: true });
    try {
      const { host } = rig;
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.read(0x1fff7a10, 12), 'len');
      assert.equal(await host.read(0x1fff7a22, 2), 'len');
      const block = (await host.read(0x1fff7a00, 256)) as Uint8Array;
      assert.equal(Buffer.from(block.subarray(0x10, 0x1c)).toString('hex'), uid);
      assert.equal(
        (await host.read(0x1fff0000, 16)) instanceof Uint8Array,
        true,
        'ROM reads unaffected',
      );
    } finally {
      await rig.close();
    }
  });

  it('takes at least the wire time of every byte at a slow baud (both directions)', async () => {
    const rig = await startRig(dir, 'slow', {
      family: 'G0',
      uid: '777777777777777777777777',
      baud: 9600,
      latencyScale: 1,
    });
    try {
      const { host } = rig;
      assert.equal(await host.sync(), ACK);
      const t0 = performance.now();
      const data = await host.read(FLASH, 256);
      const took = performance.now() - t0;
      assert.ok(data instanceof Uint8Array);
      // In: 2 + 5 + 2 bytes; out: 3 ACKs + 256 data bytes; 10 bits each at 9600 baud.
      const wireMs = ((9 + 259) * 10 * 1000) / 9600;
      assert.ok(took >= wireMs * 0.95, `read answered after ${took} ms, wire time ${wireMs} ms`);
      const t1 = performance.now();
      assert.equal(await host.write(FLASH, new Uint8Array(256).fill(1)), 'ok');
      const tookWrite = performance.now() - t1;
      const writeWireMs = ((2 + 5 + 258 + 3) * 10 * 1000) / 9600;
      assert.ok(tookWrite >= writeWireMs * 0.95, `write took ${tookWrite} ms, wire ${writeWireMs}`);
    } finally {
      await rig.close();
    }
  });

  it('paces at the baud and reports a modelled lower bound in stats()', async () => {
    const rig = await startRig(dir, 'paced', {
      family: 'F4',
      uid: '555555555555555555555555',
      latencyScale: 1,
    });
    try {
      const { host, sim } = rig;
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.extendedErase([5]), 'ok');
      const data = new Uint8Array(256).fill(0x42);
      assert.equal(await host.write(FLASH + 0x20000, data), 'ok');
      const s = sim.stats();
      // Erasing a 128 KiB F4 sector is modelled at 1 s; 256 bytes are programmed at 16 µs/word.
      assert.ok(s.flashBusyMs >= 1000 && s.flashBusyMs < 1010, `flashBusyMs ${s.flashBusyMs}`);
      // In: sync 1 + erase (2+5) + write (2+5+258); out: ACKs 1 + 2 + 3.
      assert.equal(s.bytesIn, 1 + 7 + 265);
      assert.equal(s.bytesOut, 6);
      assert.ok(Math.abs(s.wireMs - ((273 + 6) * 10 * 1000) / 115200) < 1e-6);
      assert.equal(s.byStep['extended-erase'], 1);
    } finally {
      await rig.close();
    }
  });
});
