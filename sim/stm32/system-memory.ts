import type { FamilyModel } from './families.ts';
import type { RdpLevel } from './flash-store.ts';

/** Deterministic filler so the ROM area reads like code, identical on every run. */
function romBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function putLe32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/**
 * The family's system-memory window as the bootloader's Read Memory returns it: ROM bytes
 * (a vector table, then pseudo-random code) up to `romEnd`, erased OTP (0xFF), the 12 UID
 * bytes at the UID address and the flash size in KiB (16-bit little-endian) at the
 * flash-size register.
 */
export function systemMemoryImage(model: FamilyModel, uid: Uint8Array): Uint8Array {
  const { start, end } = model.systemMemory;
  const img = new Uint8Array(end - start).fill(0xff);
  const romLen = model.romEnd - start;
  img.set(romBytes(romLen, model.pid * 0x01000193));
  // Word 0: the bootloader's initial stack pointer; word 1: its Thumb reset handler.
  putLe32(img, 0, model.sramBase + 0x1000);
  putLe32(img, 4, (start + 0x100) | 1);
  img.set(uid, model.uidAddress - start);
  const kib = model.flashSize / 1024;
  img[model.flashSizeAddress - start] = kib & 0xff;
  img[model.flashSizeAddress - start + 1] = kib >> 8;
  return img;
}

/**
 * The option-byte window: the RDP byte where each family keeps it, with complements where
 * the family stores them. User-option bytes hold the parts' factory defaults; write
 * protection is reflected only on F4 (nWRP), the other families keep WRP elsewhere.
 */
export function optionBytesImage(
  model: FamilyModel,
  rdp: RdpLevel,
  writeProtected: readonly number[],
): Uint8Array {
  const { start, end } = model.optionBytes;
  const img = new Uint8Array(end - start).fill(0xff);
  switch (model.family) {
    case 'F4': {
      img[0] = 0xec;
      img[1] = rdp === 0 ? 0xaa : 0x55;
      let nwrp = 0xfff;
      for (const s of writeProtected) nwrp &= ~(1 << s);
      img[8] = nwrp & 0xff;
      img[9] = (nwrp >> 8) & 0x0f;
      break;
    }
    case 'L4':
    case 'G0': {
      const optr = [rdp === 0 ? 0xaa : 0x55, 0xf8, 0xef, 0xff];
      img.set(optr, 0);
      img.set(
        optr.map((b) => ~b & 0xff),
        4,
      );
      break;
    }
    case 'F1': {
      const rdpByte = rdp === 0 ? 0xa5 : 0x00;
      img.set([rdpByte, ~rdpByte & 0xff, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00], 0);
      img.set([0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00], 8);
      break;
    }
  }
  return img;
}
