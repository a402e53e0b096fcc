import { ModemInputError, type ModemErrorContext } from './errors.ts';

/**
 * The exact bytes the module is given for a PEM: line endings normalised to LF
 * (design.md), so size and checksum do not depend on where the PEM came from.
 * Refuses anything that is not ASCII PEM; the message never quotes the content.
 */
export function pemToModemBytes(pem: string, what: string, context: ModemErrorContext): Uint8Array {
  const text = pem.replace(/\r\n?/g, '\n');
  if (!/^-----BEGIN [A-Z0-9 ]+-----\n/.test(text) || !/-----END [A-Z0-9 ]+-----\n?$/.test(text))
    throw new ModemInputError(context, `${what} is not a PEM block`);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 0x0a))
      throw new ModemInputError(
        context,
        `${what} holds a non-ASCII or control character at offset ${i}`,
      );
    out[i] = c;
  }
  return out;
}
