/**
 * Quectel's QFUPL/QFDWL/QSECWRITE checksum: XOR of the data taken as big-endian 16-bit
 * words, a trailing odd byte being the high half of a last word (protocols-reference A.4).
 */
export function quectelChecksum(data: Uint8Array): number {
  let sum = 0;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum ^= (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum ^= data[data.length - 1] << 8;
  return sum;
}

/** As the module prints it: lowercase hex, no zero padding (fwupd formats it with %x). */
export function formatChecksum(sum: number): string {
  return sum.toString(16);
}
