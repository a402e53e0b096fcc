import { cmeErrorText, cmsErrorText } from './error-codes.ts';

/**
 * What one line from the module means relative to the command in flight. Pure: the engine
 * and the fuzz tests use the same function.
 */
export type LineClass =
  | { readonly kind: 'ok'; readonly text: string }
  | {
      readonly kind: 'error';
      readonly text: string;
      readonly errorKind: 'ERROR' | 'CME' | 'CMS';
      readonly code: number | undefined;
      readonly meaning: string;
    }
  | { readonly kind: 'connect'; readonly length: number | undefined }
  | { readonly kind: 'urc'; readonly text: string }
  | { readonly kind: 'info'; readonly text: string };

/**
 * Unsolicited result codes a module may send at any time (protocols.md and the manuals'
 * URC lists). A line with one of these prefixes is a URC unless it is the answer prefix
 * of the command in flight (`+CPIN:` answers `AT+CPIN?`).
 */
export const URC_PREFIXES: readonly string[] = [
  'RDY',
  'APP RDY',
  'POWERED DOWN',
  'NORMAL POWER DOWN',
  'Call Ready',
  'SMS Ready',
  'RING',
  '+CPIN:',
  '+CFUN:',
  '+QIND:',
  '+QUSIM:',
  '+QSIMSTAT:',
  '+CREG:',
  '+CGREG:',
  '+CEREG:',
  '+CRING:',
  '+CMTI:',
  '+QIURC:',
  '+QSSLURC:',
  '+QSSLOPEN:',
  '+QMTSTAT:',
  '+QMTRECV:',
  '+QGPSURC:',
];

/** `+QFUPL:` for `AT+QFUPL="x",1`, undefined for basic commands such as `ATI`. */
export function answerPrefixOf(command: string): string | undefined {
  const m = /^AT([+$%][A-Za-z0-9]+)/i.exec(command.trim());
  return m ? `${m[1].toUpperCase()}:` : undefined;
}

export function isUrc(line: string, answerPrefix: string | undefined): boolean {
  const upper = line.toUpperCase();
  if (answerPrefix && upper.startsWith(answerPrefix)) return false;
  return URC_PREFIXES.some((p) => {
    const up = p.toUpperCase();
    return up.endsWith(':') ? upper.startsWith(up) : upper === up;
  });
}

/** Parses a final result code; undefined when the line is not one. */
export function parseFinal(
  line: string,
  successFinals: readonly string[] = [],
): Extract<LineClass, { kind: 'ok' } | { kind: 'error' }> | undefined {
  if (line === 'OK' || successFinals.includes(line)) return { kind: 'ok', text: line };
  if (line === 'ERROR')
    return { kind: 'error', text: line, errorKind: 'ERROR', code: undefined, meaning: 'error' };
  const m = /^\+(CME|CMS) ERROR:\s*(.*)$/.exec(line);
  if (!m) return undefined;
  const errorKind = m[1] as 'CME' | 'CMS';
  const arg = m[2].trim();
  if (/^\d{1,6}$/.test(arg)) {
    const code = Number(arg);
    return {
      kind: 'error',
      text: line,
      errorKind,
      code,
      meaning: errorKind === 'CME' ? cmeErrorText(code) : cmsErrorText(code),
    };
  }
  // Verbose form (AT+CMEE=2): the module already gave the text.
  return { kind: 'error', text: line, errorKind, code: undefined, meaning: arg || 'error' };
}

/** Classifies one non-empty line received while `command` is in flight. */
export function classifyLine(
  line: string,
  command: string,
  successFinals: readonly string[] = [],
): LineClass {
  const final = parseFinal(line, successFinals);
  if (final) return final;
  const c = /^CONNECT(?:\s+(\d{1,9}))?$/.exec(line);
  if (c) return { kind: 'connect', length: c[1] !== undefined ? Number(c[1]) : undefined };
  if (isUrc(line, answerPrefixOf(command))) return { kind: 'urc', text: line };
  return { kind: 'info', text: line };
}
