import { sha256 } from '@noble/hashes/sha2.js';
import { normalizeHardwareIds, type HardwareIds } from './hardware-ids.ts';
import { toHex } from './der.ts';

/**
 * How hardware IDs are bound into a device certificate's subjectAltName (URIs).
 *
 * plain:  urn:gsma:imei:TTTTTTTT-SSSSSS-C (RFC 7254), urn:keyline:iccid:<ICCID>,
 *         urn:keyline:mcu-uid:<uid>
 * hashed: urn:keyline:imei-sha256:<hex>, urn:keyline:iccid-sha256:<hex>,
 *         urn:keyline:mcu-uid-sha256:<hex>, each hashIdForSan() of the plain value.
 */
export type SanMode = 'plain' | 'hashed';

export type HardwareIdKind = keyof HardwareIds;

const KIND_LABEL: Record<HardwareIdKind, string> = {
  imei: 'imei',
  iccid: 'iccid',
  mcuUid: 'mcu-uid',
};

/** RFC 7254 IMEI URN: TAC (8) - SNR (6) - check/spare digit (1). */
export function imeiUrn(imei: string): string {
  return `urn:gsma:imei:${imei.slice(0, 8)}-${imei.slice(8, 14)}-${imei.slice(14)}`;
}

/**
 * Salted SHA-256 of one hardware ID, lowercase hex:
 * SHA-256("keyline/san-hash/v1" 0x00 salt 0x00 kind 0x00 value), value in normalised form.
 * The server recomputes it from the ledger's plain IDs and the profile's salt.
 */
export function hashIdForSan(kind: HardwareIdKind, value: string, salt: string): string {
  const input = new TextEncoder().encode(
    ['keyline/san-hash/v1', salt, KIND_LABEL[kind], value].join('\0'),
  );
  return toHex(sha256(input));
}

/** The SAN URIs for a board, in a fixed order (IMEI, ICCID, MCU UID). */
export function sanUrisFor(ids: HardwareIds, mode: SanMode, salt?: string): string[] {
  const n = normalizeHardwareIds(ids);
  if (mode === 'plain')
    return [imeiUrn(n.imei), `urn:keyline:iccid:${n.iccid}`, `urn:keyline:mcu-uid:${n.mcuUid}`];
  if (salt === undefined) throw new Error('hashed SAN mode needs a salt');
  return (['imei', 'iccid', 'mcuUid'] as const).map(
    (k) => `urn:keyline:${KIND_LABEL[k]}-sha256:${hashIdForSan(k, n[k], salt)}`,
  );
}

/** Hardware IDs (plain) and ID hashes (hashed mode) read back from SAN URIs. */
export interface SanIds {
  ids: Partial<HardwareIds>;
  hashes: Partial<Record<HardwareIdKind, string>>;
}

export function hardwareIdsFromSanUris(uris: readonly string[]): SanIds {
  const out: SanIds = { ids: {}, hashes: {} };
  for (const u of uris) {
    // RFC 7254 allows ;svn= / ;vers= parameters after the IMEI; they do not change the ID.
    let m = /^urn:gsma:imei:(\d{8})-(\d{6})-(\d)(;.*)?$/i.exec(u);
    if (m) {
      out.ids.imei = m[1] + m[2] + m[3];
      continue;
    }
    m = /^urn:keyline:(iccid|mcu-uid):([0-9A-Fa-f]+)$/.exec(u);
    if (m) {
      if (m[1] === 'iccid') out.ids.iccid = m[2].toUpperCase();
      else out.ids.mcuUid = m[2].toLowerCase();
      continue;
    }
    m = /^urn:keyline:(imei|iccid|mcu-uid)-sha256:([0-9a-f]{64})$/.exec(u);
    if (m) {
      const kind: HardwareIdKind = m[1] === 'mcu-uid' ? 'mcuUid' : (m[1] as HardwareIdKind);
      out.hashes[kind] = m[2];
    }
  }
  return out;
}
