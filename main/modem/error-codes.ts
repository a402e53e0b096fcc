/**
 * Readable text for `+CME ERROR: <n>` and `+CMS ERROR: <n>`. The 4xx file codes and
 * 55x–57x socket codes are Quectel's (protocols.md, LTE Standard / LPWA manuals); the rest
 * are 3GPP TS 27.007 §9.2 and TS 27.005 §3.2.5. 2G modules' own file-error numbers are
 * unconfirmed, so an unknown number is reported as such with the raw value, never guessed.
 */
const cmeText: Readonly<Record<number, string>> = {
  0: 'phone failure',
  1: 'no connection to phone',
  2: 'phone-adaptor link reserved',
  3: 'operation not allowed',
  4: 'operation not supported',
  5: 'PH-SIM PIN required',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  13: 'SIM failure',
  14: 'SIM busy',
  15: 'SIM wrong',
  16: 'incorrect password',
  17: 'SIM PIN2 required',
  18: 'SIM PUK2 required',
  20: 'memory full',
  21: 'invalid index',
  22: 'not found',
  23: 'memory failure',
  24: 'text string too long',
  25: 'invalid characters in text string',
  30: 'no network service',
  31: 'network timeout',
  32: 'network not allowed, emergency calls only',
  50: 'incorrect parameters',
  100: 'unknown error',
  400: 'invalid input value',
  401: 'larger than the size of the file',
  402: 'read zero bytes',
  403: 'drive full',
  405: 'file not found',
  406: 'invalid file name',
  407: 'file already exists',
  409: 'failed to write the file',
  410: 'failed to open the file',
  411: 'failed to read the file',
  413: 'too many open files',
  414: 'the file is read-only',
  416: 'invalid file descriptor',
  417: 'failed to list files',
  418: 'failed to delete the file',
  419: 'failed to get disk info',
  420: 'no space',
  421: 'timed out',
  423: 'file too large',
  425: 'invalid parameter',
  426: 'file already open',
  550: 'unknown error',
  551: 'operation blocked',
  552: 'invalid parameters',
  553: 'memory not enough',
  554: 'create socket failed',
  555: 'operation not supported',
  556: 'socket bind failed',
  557: 'socket listen failed',
  558: 'socket write failed',
  559: 'socket read failed',
  560: 'socket accept failed',
  561: 'open PDP context failed',
  562: 'close PDP context failed',
  563: 'socket identity has been used',
  564: 'DNS busy',
  565: 'DNS parse failed',
  566: 'socket connect failed',
  567: 'socket has been closed',
  568: 'operation busy',
  569: 'operation timeout',
  570: 'PDP context broken down',
  571: 'cancel send',
  572: 'operation not allowed',
  573: 'APN not configured',
  574: 'port busy',
};

const cmsText: Readonly<Record<number, string>> = {
  300: 'ME failure',
  301: 'SMS service of ME reserved',
  302: 'operation not allowed',
  303: 'operation not supported',
  304: 'invalid PDU mode parameter',
  305: 'invalid text mode parameter',
  310: 'SIM not inserted',
  311: 'SIM PIN required',
  312: 'PH-SIM PIN required',
  313: 'SIM failure',
  314: 'SIM busy',
  315: 'SIM wrong',
  316: 'SIM PUK required',
  320: 'memory failure',
  321: 'invalid memory index',
  322: 'memory full',
  330: 'SMSC address unknown',
  331: 'no network service',
  332: 'network timeout',
  500: 'unknown error',
};

/** Readable meaning of a `+CME ERROR` number. */
export function cmeErrorText(code: number): string {
  return cmeText[code] ?? `unrecognised error code ${code}`;
}

/** Readable meaning of a `+CMS ERROR` number. */
export function cmsErrorText(code: number): string {
  return cmsText[code] ?? `unrecognised error code ${code}`;
}

/** File error codes the drivers act on by number. */
export const FileError = {
  driveFull: 403,
  notFound: 405,
  alreadyExists: 407,
  noSpace: 420,
  tooLarge: 423,
} as const;
