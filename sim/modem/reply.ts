/** How a command ends. `none` is a stall: the module never answers. */
export type FinalResult =
  { kind: 'ok' } | { kind: 'error' } | { kind: 'cme'; code: number } | { kind: 'none' };

/** Information lines (each framed by CR LF) followed by the final result. */
export interface Reply {
  info: string[];
  final: FinalResult;
}

export const ok = (...info: string[]): Reply => ({ info, final: { kind: 'ok' } });
export const error = (): Reply => ({ info: [], final: { kind: 'error' } });
export const cme = (code: number): Reply => ({ info: [], final: { kind: 'cme', code } });
export const silent = (): Reply => ({ info: [], final: { kind: 'none' } });

/**
 * Verbose texts for AT+CMEE=2, 3GPP TS 27.007 §9.2 wording, only for the general codes the
 * simulator emits. Quectel's own 4xx file codes stay numeric under CMEE=2: the reference
 * leaves their verbose form UNCONFIRMED, and a numeric code cannot be misread by a driver.
 */
const verbose: Readonly<Record<number, string>> = {
  3: 'operation not allowed',
  4: 'operation not supported',
  10: 'SIM not inserted',
  13: 'SIM failure',
  50: 'incorrect parameters',
  100: 'unknown',
};

/** The final result line under the given AT+CMEE mode, or null for a stall. */
export function finalLine(final: FinalResult, cmee: number): string | null {
  switch (final.kind) {
    case 'ok':
      return 'OK';
    case 'error':
      return 'ERROR';
    case 'none':
      return null;
    case 'cme':
      if (cmee === 0) return 'ERROR';
      if (cmee === 2 && verbose[final.code]) return `+CME ERROR: ${verbose[final.code]}`;
      return `+CME ERROR: ${final.code}`;
  }
}

/**
 * The bytes of a reply, framed as protocols-reference A.1: the information block as
 * `\r\n` + lines joined by `\r\n` + `\r\n`, then `\r\n<final>\r\n` — which leaves the blank
 * line before OK that real modules show.
 */
export function frameReply(info: readonly string[], final: string | null): string {
  let out = info.length > 0 ? `\r\n${info.join('\r\n')}\r\n` : '';
  if (final !== null) out += `\r\n${final}\r\n`;
  return out;
}

/** A URC on the wire. */
export function frameUrc(line: string): string {
  return `\r\n${line}\r\n`;
}
