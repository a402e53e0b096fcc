/**
 * The checksum Quectel modules report after `AT+QFUPL` / `AT+QSECWRITE` (protocols.md):
 * XOR of the data taken as big-endian 16-bit words; a trailing odd byte is the high byte
 * of a last word whose low byte is 0. Checked against real BG95 answers in
 * test/modem/checksum.test.ts (`+QFUPL: 28,6c53`).
 */
export function quectelChecksum(data: Uint8Array): number {
  let sum = 0;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum ^= (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum ^= data[data.length - 1] << 8;
  return sum;
}

/** The checksum as modules print it: lowercase hex, no leading zeros. */
export function formatChecksum(sum: number): string {
  return sum.toString(16);
}

/**
 * Parses a reported checksum as a number (hex, either case, with or without zero padding),
 * so comparisons never depend on how a firmware prints it. Undefined when not hex.
 */
export function parseChecksum(text: string): number | undefined {
  const t = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{1,4}$/.test(t)) return undefined;
  return Number.parseInt(t, 16);
}
