import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addressFrame,
  commandFrame,
  eraseFrame,
  formatBootloaderVersion,
  readCountFrame,
  writeDataFrame,
} from '../../main/mcu/an3155.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AN3155 frames (protocols.md / protocols-reference.md B.2–B.4)', () => {
  it('sends each command with its complement', () => {
    assert.equal(hex(commandFrame(0x00)), '00ff');
    assert.equal(hex(commandFrame(0x11)), '11ee');
    assert.equal(hex(commandFrame(0x31)), '31ce');
    assert.equal(hex(commandFrame(0x44)), '44bb');
    assert.equal(hex(commandFrame(0x82)), '827d');
  });

  it('sends addresses MSB first with their XOR', () => {
    assert.equal(hex(addressFrame(0x0800_0000)), '0800000008');
    assert.equal(
      hex(addressFrame(0x1fff_7a10)),
      '1fff7a10' + (0x1f ^ 0xff ^ 0x7a ^ 0x10).toString(16).padStart(2, '0'),
    );
  });

  it('encodes read counts as len−1 and complement, 1…256', () => {
    assert.equal(hex(readCountFrame(12)), '0bf4');
    assert.equal(hex(readCountFrame(256)), 'ff00');
  });

  it('closes write data with the XOR of the count and every byte', () => {
    assert.equal(hex(writeDataFrame(Uint8Array.of(1, 2, 3, 4))), '030102030407');
    const full = writeDataFrame(new Uint8Array(256).fill(0xaa));
    assert.equal(full.length, 258);
    assert.equal(full[0], 0xff);
    assert.equal(full[257], 0xff, '0xFF xor an even number of 0xAA');
  });

  it('builds Extended Erase and legacy Erase page lists, never a mass-erase code', () => {
    // stm32flash's single-page erase of page 0 as seen by the simulator in B.4.
    assert.equal(hex(eraseFrame([0], true)), '0000000000');
    assert.equal(hex(eraseFrame([126], true)), '0000007e7e');
    assert.equal(
      hex(eraseFrame([3, 4], true)),
      '000100030004' + (1 ^ 3 ^ 4).toString(16).padStart(2, '0'),
    );
    assert.equal(hex(eraseFrame([3], false)), '000303');
    assert.throws(() => eraseFrame([], true), RangeError);
    assert.throws(() => eraseFrame([0xfffe], true), RangeError);
    assert.throws(
      () =>
        eraseFrame(
          Array.from({ length: 256 }, (_, i) => i & 0xff),
          false,
        ),
      RangeError,
    );
  });

  it('prints the version byte as ST does', () => {
    assert.equal(formatBootloaderVersion(0x31), '3.1');
    assert.equal(formatBootloaderVersion(0x22), '2.2');
  });
});
