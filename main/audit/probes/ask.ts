import type { AtResponse } from '../../modem/at-engine.ts';
import { ModemCommandError, ModemProtocolError, ModemTimeoutError } from '../../modem/errors.ts';
import type { ReadOnlyCommandGate } from '../command-gate.ts';
import { AuditAbortedError, AuditError } from '../errors.ts';

/**
 * How one command ended, as a probe needs it: an answer, an error final result (often the
 * clean answer), or no usable answer (timeout or unreadable reply: the probe is then
 * inconclusive). A closed port, a failed resync or a cancel ends the whole audit.
 */
export type Asked =
  | { readonly kind: 'answer'; readonly response: AtResponse }
  | {
      readonly kind: 'refused';
      readonly answer: string;
      readonly plainError: boolean;
      readonly code?: number;
    }
  | { readonly kind: 'no-answer'; readonly reason: string };

export async function ask(
  gate: ReadOnlyCommandGate,
  command: string,
  port: string,
  slot: string | number | undefined,
  dataBytes?: number,
): Promise<Asked> {
  try {
    return { kind: 'answer', response: await gate.command(command, dataBytes) };
  } catch (e) {
    if (e instanceof ModemCommandError)
      return { kind: 'refused', answer: e.answer, plainError: e.kind === 'ERROR', code: e.code };
    if (e instanceof ModemTimeoutError)
      return { kind: 'no-answer', reason: `no answer within ${e.timeoutMs} ms` };
    if (e instanceof ModemProtocolError)
      return { kind: 'no-answer', reason: `unreadable answer (${e.reason})` };
    if (e instanceof AuditError) throw e;
    throw new AuditAbortedError(
      { port, slot, probe: gate.currentProbe },
      `${command.split(/[=?]/)[0]}: ${(e as Error).message ?? String(e)}`,
      { cause: e },
    );
  }
}

/** The first information line starting with `prefix` (case-insensitive), without it. */
export function lineAfter(r: AtResponse, prefix: string): string | undefined {
  const p = prefix.toUpperCase();
  const line = r.lines.find((l) => l.trim().toUpperCase().startsWith(p));
  return line?.trim().slice(prefix.length).trim();
}
