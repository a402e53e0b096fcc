import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatChecksum, parseChecksum, quectelChecksum } from '../../main/modem/checksum.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('Quectel XOR-16 checksum', () => {
  it('matches a real BG95 answer (+QFUPL: 28,6c53)', () => {
    const data = enc('-----BEGIN CERTIFICATE-----\r');
    assert.equal(data.length, 28);
    assert.equal(formatChecksum(quectelChecksum(data)), '6c53');
  });

  it('pairs bytes big-endian, not little-endian', () => {
    assert.equal(quectelChecksum(Uint8Array.of(0x12, 0x34)), 0x1234);
    assert.equal(quectelChecksum(Uint8Array.of(0x12, 0x34, 0x00, 0x01)), 0x1235);
  });

  it('takes a trailing odd byte as the high byte of a last word', () => {
    assert.equal(quectelChecksum(Uint8Array.of(0x12, 0x34, 0x56)), 0x1234 ^ 0x5600);
    assert.equal(quectelChecksum(Uint8Array.of(0xff)), 0xff00);
  });

  it('is 0 for no data and for a word XORed with itself', () => {
    assert.equal(quectelChecksum(new Uint8Array(0)), 0);
    assert.equal(quectelChecksum(Uint8Array.of(0xab, 0xcd, 0xab, 0xcd)), 0);
  });

  it('prints lowercase hex without padding and parses any spelling as a number', () => {
    assert.equal(formatChecksum(0x0abc), 'abc');
    assert.equal(parseChecksum('0ABC'), 0xabc);
    assert.equal(parseChecksum('abc'), 0xabc);
    assert.equal(parseChecksum('0x5769'), 0x5769);
    assert.equal(parseChecksum('xyz'), undefined);
    assert.equal(parseChecksum('12345'), undefined);
  });
});
