/**
 * PEM for secrets, built in a Uint8Array instead of a JS string: strings are immutable and
 * cannot be wiped, bytes can (`fill(0)`).
 */
const ALPHABET = new TextEncoder().encode(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
);

export function pemBytes(label: string, der: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const head = enc.encode(`-----BEGIN ${label}-----\n`);
  const tail = enc.encode(`-----END ${label}-----\n`);
  const b64Len = Math.ceil(der.length / 3) * 4;
  const lines = Math.ceil(b64Len / 64);
  const out = new Uint8Array(head.length + b64Len + lines + tail.length);
  out.set(head, 0);
  let o = head.length;
  let col = 0;
  const put = (c: number) => {
    out[o++] = c;
    if (++col === 64) {
      out[o++] = 0x0a;
      col = 0;
    }
  };
  for (let i = 0; i < der.length; i += 3) {
    const a = der[i];
    const b = i + 1 < der.length ? der[i + 1] : 0;
    const c = i + 2 < der.length ? der[i + 2] : 0;
    put(ALPHABET[a >> 2]);
    put(ALPHABET[((a & 3) << 4) | (b >> 4)]);
    put(i + 1 < der.length ? ALPHABET[((b & 15) << 2) | (c >> 6)] : 0x3d);
    put(i + 2 < der.length ? ALPHABET[c & 63] : 0x3d);
  }
  if (col !== 0) out[o++] = 0x0a;
  out.set(tail, o);
  return out;
}
