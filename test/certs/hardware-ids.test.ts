import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveDeviceId,
  HardwareIdError,
  isLuhnValid,
  luhnCheckDigit,
  normalizeIccid,
  normalizeImei,
  normalizeMcuUid,
} from '../../certs/hardware-ids.ts';

describe('hardware IDs', () => {
  it('computes Luhn check digits (3GPP example IMEI 49015420323751-8)', () => {
    assert.equal(luhnCheckDigit('49015420323751'), 8);
    assert.ok(isLuhnValid('490154203237518'));
    assert.ok(!isLuhnValid('490154203237519'));
  });

  it('rejects malformed IMEIs, ICCIDs and UIDs with the field named', () => {
    assert.throws(
      () => normalizeImei('490154203237519'),
      (e: unknown) => e instanceof HardwareIdError && e.field === 'imei' && /Luhn/.test(e.message),
    );
    assert.throws(() => normalizeImei('4901542032375'), /15 digits/);
    assert.throws(() => normalizeIccid('12345678901234567890'), /89/);
    assert.throws(() => normalizeIccid('89445001021983048'), /19–20/);
    assert.throws(() => normalizeMcuUid('3a0021000b5133323335'), /12 bytes/);
    assert.throws(() => normalizeMcuUid('ffffffffffffffffffffffff'), /erased/);
  });

  it('normalises accepted forms', () => {
    assert.equal(normalizeIccid('8944500102198304826f'), '8944500102198304826F');
    assert.equal(normalizeMcuUid('0x3A0021000B51333233353530'), '3a0021000b51333233353530');
  });

  it('derives the documented device ID (docs/device-identity.md)', () => {
    const ids = {
      mcuUid: '3a0021000b51333233353530',
      imei: '490154203237518',
      iccid: '8944500102198304826F',
    };
    assert.equal(deriveDeviceId(ids), 'kl1-70f85d3f9036f695f8508881');
    assert.equal(
      deriveDeviceId({ ...ids, iccid: '8944500102198304826f', mcuUid: '3A0021000B51333233353530' }),
      'kl1-70f85d3f9036f695f8508881',
    );
    assert.notEqual(
      deriveDeviceId({ ...ids, imei: '490154203237526' }),
      'kl1-70f85d3f9036f695f8508881',
    );
  });
});
