import { sha256 } from '@noble/hashes/sha2.js';

/**
 * Hardware identities of one board and the device ID derived from them.
 * Every other part of keyline (certificates, ledger, blob, server) uses these forms.
 */
export interface HardwareIds {
  /** 15 decimal digits, Luhn-valid (3GPP TS 23.003). */
  imei: string;
  /** 19–20 characters of [0-9A-F] as the module prints them (trailing F padding kept). */
  iccid: string;
  /** 24 lowercase hex digits: the 12 UID bytes in address order (as `xxd -p` shows them). */
  mcuUid: string;
}

export class HardwareIdError extends Error {
  override name = 'HardwareIdError';
  constructor(
    readonly field: keyof HardwareIds,
    readonly value: string,
    reason: string,
  ) {
    super(`invalid ${field} "${value}": ${reason}`);
  }
}

/** Luhn check digit over a string of decimal digits (without the check digit). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function isLuhnValid(digits: string): boolean {
  return /^\d{2,}$/.test(digits) && luhnCheckDigit(digits.slice(0, -1)) === Number(digits.at(-1));
}

export function normalizeImei(raw: string): string {
  const v = raw.trim();
  if (!/^\d{15}$/.test(v)) throw new HardwareIdError('imei', raw, 'must be exactly 15 digits');
  if (!isLuhnValid(v)) throw new HardwareIdError('imei', raw, 'Luhn check digit is wrong');
  return v;
}

export function normalizeIccid(raw: string): string {
  const v = raw.trim().toUpperCase();
  if (!/^[0-9A-F]{19,20}$/.test(v))
    throw new HardwareIdError('iccid', raw, 'must be 19–20 characters of 0-9/A-F');
  if (!v.startsWith('89'))
    throw new HardwareIdError('iccid', raw, 'must start with the telecom prefix 89');
  return v;
}

export function normalizeMcuUid(raw: string): string {
  const v = raw.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]*$/.test(v)) throw new HardwareIdError('mcuUid', raw, 'must be hexadecimal');
  if (v.length !== 24)
    throw new HardwareIdError(
      'mcuUid',
      raw,
      `must be 12 bytes (24 hex digits), got ${v.length} digits`,
    );
  if (/^(ff)+$/.test(v) || /^(00)+$/.test(v))
    throw new HardwareIdError('mcuUid', raw, 'reads as erased/blank, not a real UID');
  return v;
}

export function normalizeHardwareIds(ids: HardwareIds): HardwareIds {
  return {
    imei: normalizeImei(ids.imei),
    iccid: normalizeIccid(ids.iccid),
    mcuUid: normalizeMcuUid(ids.mcuUid),
  };
}

const DEVICE_ID_DOMAIN = 'keyline/device-id/v1';

/**
 * Device ID = "kl1-" + the first 12 bytes (24 hex digits) of
 * SHA-256("keyline/device-id/v1" 0x00 mcuUid 0x00 imei 0x00 iccid), each ID in its
 * normalised form above. Deterministic, 96 bits, fits any CN or registry name.
 * Documented in docs/device-identity.md.
 */
export function deriveDeviceId(ids: HardwareIds): string {
  const n = normalizeHardwareIds(ids);
  const input = new TextEncoder().encode([DEVICE_ID_DOMAIN, n.mcuUid, n.imei, n.iccid].join('\0'));
  const digest = sha256(input);
  return 'kl1-' + Buffer.from(digest.subarray(0, 12)).toString('hex');
}
