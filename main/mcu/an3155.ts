/**
 * AN3155 wire constants and frame builders (pure). Written from /work/shared/protocols.md;
 * the simulator has its own, so a misreading fails a test instead of being mirrored.
 */

export const ACK = 0x79;
export const NACK = 0x1f;
/** Autobaud byte the host sends first. */
export const SYNC = 0x7f;

export const CMD = {
  get: 0x00,
  getVersion: 0x01,
  getId: 0x02,
  readMemory: 0x11,
  go: 0x21,
  writeMemory: 0x31,
  erase: 0x43,
  extendedErase: 0x44,
  readoutProtect: 0x82,
  readoutUnprotect: 0x92,
} as const;

/** Largest Read/Write Memory payload. */
export const MAX_CHUNK = 256;

export function xorOf(bytes: Uint8Array, seed = 0): number {
  let x = seed;
  // An index loop: for-of runs the iterator protocol per byte until the JIT has warmed up,
  // and a credential write checksums 2 KiB between two stages of its lock-step run.
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i];
  return x;
}

/** Command byte and its complement. */
export function commandFrame(cmd: number): Uint8Array {
  return Uint8Array.of(cmd, cmd ^ 0xff);
}

/** Four address bytes MSB first, then their XOR. */
export function addressFrame(address: number): Uint8Array {
  const a = new Uint8Array(5);
  new DataView(a.buffer).setUint32(0, address >>> 0, false);
  a[4] = xorOf(a.subarray(0, 4));
  return a;
}

/** Read Memory count: (len − 1) and its complement. */
export function readCountFrame(length: number): Uint8Array {
  return Uint8Array.of(length - 1, (length - 1) ^ 0xff);
}

/** Write Memory data: (len − 1), the data, XOR of both. Holds the data: wipe after use. */
export function writeDataFrame(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(data.length + 2);
  frame[0] = data.length - 1;
  frame.set(data, 1);
  frame[frame.length - 1] = xorOf(data, data.length - 1);
  return frame;
}

/**
 * Page list for Extended Erase (2-byte count − 1 and 2-byte page numbers, MSB first) or
 * for the legacy Erase (1-byte count − 1 and page numbers), each closed by the XOR of
 * everything before it. Never a mass-erase code.
 */
export function eraseFrame(pages: readonly number[], extended: boolean): Uint8Array {
  if (pages.length === 0) throw new RangeError('no pages to erase');
  let body: Uint8Array;
  if (extended) {
    if (pages.length > 0xfff0 || pages.some((p) => p < 0 || p > 0xffef))
      throw new RangeError('Extended Erase takes up to 65520 page numbers below 0xFFF0');
    body = new Uint8Array(2 + pages.length * 2 + 1);
    const view = new DataView(body.buffer);
    view.setUint16(0, pages.length - 1, false);
    pages.forEach((p, i) => view.setUint16(2 + i * 2, p, false));
  } else {
    if (pages.length > 255 || pages.some((p) => p < 0 || p > 0xff))
      throw new RangeError('legacy Erase takes at most 255 one-byte page numbers');
    body = new Uint8Array(1 + pages.length + 1);
    body[0] = pages.length - 1;
    body.set(pages, 1);
  }
  body[body.length - 1] = xorOf(body.subarray(0, body.length - 1));
  return body;
}

/** Formats a version byte 0xXY as "X.Y", as stm32flash and ST print it. */
export function formatBootloaderVersion(v: number): string {
  return `${v >> 4}.${v & 0x0f}`;
}

/** Extra wait for `n` bytes on the wire, reckoned at 9600 baud so slow lines still fit. */
export function wireTimeMs(n: number): number {
  return Math.ceil((n * 10 * 1000) / 9600);
}
