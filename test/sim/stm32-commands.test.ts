import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACK, NACK, addressBytes, startRig, xor, type Rig } from './stm32-host.ts';

const UID = '3a0026001351353432383830';
const FLASH = 0x0800_0000;

describe('STM32 bootloader simulator (F4) over a real PTY', () => {
  let dir: string;
  let rig: Rig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-stm32-'));
    rig = await startRig(dir, 'f4', { family: 'F4', uid: UID });
  });
  after(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ignores noise before sync, ACKs 0x7F, and NACKs a second 0x7F pair', async () => {
    const { host } = rig;
    await host.send([0x00, 0x55]);
    assert.equal(await host.sync(), ACK);
    // After init, 0x7F is a command byte: 0x7F 0x7F is a bad pair → NACK (stm32flash resync).
    await host.send([0x7f, 0x7f]);
    assert.equal(await host.byte(), NACK);
  });

  it('answers Get with the v3.1 command list (0x44, not 0x43)', async () => {
    const { host } = rig;
    assert.equal(await host.command(0x00), ACK);
    const [n, ver] = await host.bytes(2);
    assert.equal(ver, 0x31);
    const codes = [...(await host.bytes(n))];
    assert.deepEqual(codes, [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92]);
    assert.equal(await host.byte(), ACK);
  });

  it('answers Get Version and Get ID (PID 0x413)', async () => {
    const { host } = rig;
    assert.equal(await host.command(0x01), ACK);
    assert.deepEqual([...(await host.bytes(4))], [0x31, 0x00, 0x00, ACK]);
    assert.equal(await host.command(0x02), ACK);
    assert.deepEqual([...(await host.bytes(4))], [0x01, 0x04, 0x13, ACK]);
  });

  it('NACKs a command whose complement is wrong, and an unsupported command', async () => {
    const { host } = rig;
    await host.send([0x11, 0x11]);
    assert.equal(await host.byte(), NACK);
    assert.equal(await host.command(0x43), NACK, 'F4 has no classic Erase');
  });

  it('reads the UID, the flash size and a 256-byte aligned system block', async () => {
    const { host } = rig;
    assert.equal(Buffer.from((await host.read(0x1fff7a10, 12)) as Uint8Array).toString('hex'), UID);
    assert.deepEqual([...((await host.read(0x1fff7a22, 2)) as Uint8Array)], [0x00, 0x04]);
    const block = (await host.read(0x1fff7a00, 256)) as Uint8Array;
    assert.equal(block.length, 256);
    assert.equal(Buffer.from(block.subarray(0x10, 0x1c)).toString('hex'), UID);
  });

  it('NACKs reads at unmapped addresses, across a region end, and with a bad address checksum', async () => {
    const { host } = rig;
    assert.equal(await host.read(0x4000_0000, 4), 'addr');
    assert.equal(await host.read(FLASH + 1024 * 1024 - 4, 8), 'len');
    assert.equal(await host.command(0x11), ACK);
    const a = addressBytes(FLASH);
    a[4] ^= 0xff;
    await host.send(a);
    assert.equal(await host.byte(), NACK);
  });

  it('writes a block into erased flash, persists it, and reads it back', async () => {
    const { host, sim } = rig;
    const data = Uint8Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff);
    assert.equal(await host.write(FLASH + 0x4000, data), 'ok');
    assert.deepEqual(await host.read(FLASH + 0x4000, 256), data);
    assert.deepEqual(sim.readFlash(FLASH + 0x4000, 256), data);
    const image = readFileSync(sim.stateFile);
    assert.deepEqual(new Uint8Array(image.subarray(0x4000, 0x4100)), data);
  });

  it('refuses a write with a bad checksum, unaligned, not a multiple of 4, or over programmed bytes', async () => {
    const { host, sim } = rig;
    const four = Uint8Array.from([1, 2, 3, 4]);
    assert.equal(await host.write(FLASH + 0x8000, four, true), 'data');
    assert.equal(await host.write(FLASH + 0x8002, four), 'addr');
    assert.equal(await host.write(FLASH + 0x8000, Uint8Array.from([1, 2, 3])), 'data');
    assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
    assert.equal(await host.write(FLASH + 0x8000, four), 'ok');
    // The target must read 0xFF: even clearing more bits is refused until erased.
    assert.equal(await host.write(FLASH + 0x8000, Uint8Array.from([0, 0, 0, 0])), 'data');
    assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), four);
  });

  it('accepts writes to SRAM (stm32flash uploads stubs there) and reads them back', async () => {
    const { host } = rig;
    const stub = Uint8Array.from([0x00, 0x10, 0x00, 0x20, 0x09, 0x00, 0x00, 0x20]);
    assert.equal(await host.write(0x2000_2000, stub), 'ok');
    assert.deepEqual(await host.read(0x2000_2000, 8), stub);
    assert.equal(await host.write(0x1fff_7a10, Uint8Array.from([0, 0, 0, 0])), 'addr');
  });

  it('extended-erases a page list (sector numbers) and only those sectors', async () => {
    const { host, sim } = rig;
    assert.equal(await host.write(FLASH + 0x0, Uint8Array.from([9, 9, 9, 9])), 'ok');
    // Sector 1 (0x4000) and sector 2 (0x8000) hold data; erase sector 1 only.
    assert.equal(await host.extendedErase([1]), 'ok');
    assert.deepEqual(sim.readFlash(FLASH + 0x4000, 4), Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
    assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), Uint8Array.from([1, 2, 3, 4]));
    assert.deepEqual(sim.readFlash(FLASH, 4), Uint8Array.from([9, 9, 9, 9]));
    assert.equal(await host.extendedErase([12]), 'list', 'F405 has sectors 0..11');
    // Wrong checksum on a list.
    assert.equal(await host.command(0x44), ACK);
    await host.send([0x00, 0x00, 0x00, 0x02, 0x07]);
    assert.equal(await host.byte(), NACK);
    assert.deepEqual(sim.readFlash(FLASH + 0x8000, 4), Uint8Array.from([1, 2, 3, 4]));
  });

  it('mass-erases with 0xFFFF, bank-erases with 0xFFFE and refuses 0xFFFD on a single-bank part', async () => {
    const { host, sim } = rig;
    assert.equal(await host.write(FLASH + 0x20000, Uint8Array.from([5, 5, 5, 5])), 'ok');
    assert.equal(await host.extendedErase(0xfffd), 'list');
    assert.equal(await host.extendedErase(0xfffe), 'ok');
    assert.deepEqual(sim.readFlash(FLASH + 0x20000, 4), Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
    assert.equal(await host.write(FLASH, Uint8Array.from([5, 5, 5, 5])), 'ok');
    assert.equal(await host.extendedErase(0xffff), 'ok');
    assert.ok(sim.readFlash(FLASH, 1024 * 1024).every((b) => b === 0xff));
    assert.ok(readFileSync(sim.stateFile).every((b) => b === 0xff));
  });

  it('Go to flash leaves the bootloader silent until reset', async () => {
    const { host, sim } = rig;
    assert.equal(await host.go(0x2200_0000), 'addr');
    assert.equal(await host.go(FLASH), 'ok');
    for (let i = 0; i < 250 && sim.mode !== 'application'; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.mode, 'application');
    await host.send([0x7f]);
    await assert.rejects(host.byte(300));
    sim.reset();
    assert.equal(sim.mode, 'awaiting-sync');
    assert.equal(await host.sync(), ACK);
  });

  it('Go to SRAM runs the (reset) stub: the chip comes back waiting for sync', async () => {
    const { host, sim } = rig;
    assert.equal(await host.go(0x2000_2000), 'ok');
    for (let i = 0; i < 50 && sim.mode !== 'awaiting-sync'; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.mode, 'awaiting-sync');
    assert.equal(await host.sync(), ACK);
  });

  it('checks the xor of (len-1) and data, not of data alone', async () => {
    const { host } = rig;
    assert.equal(await host.command(0x31), ACK);
    await host.send(addressBytes(FLASH + 0x100));
    assert.equal(await host.byte(), ACK);
    const data = [0x10, 0x20, 0x30, 0x40];
    await host.send([3, ...data, xor(data)]);
    assert.equal(await host.byte(), NACK);
  });
});
