import type { ModemFamily } from '../../modem/identity.ts';
import type { ReadOnlyCommandGate } from '../command-gate.ts';
import type { Finding, FindingId, ProbeOutcome, Severity } from '../findings.ts';
import { ask, type Asked } from './ask.ts';

/** What a probe is checked against; validated by auditModem before any probe runs. */
export interface ProbeExpectation {
  readonly family: ModemFamily;
  readonly keyFileName: string;
  readonly keyPrefix: Uint8Array | undefined;
  readonly tlsContext: number;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly firmwareAllow: readonly string[] | undefined;
  readonly firmwareDeny: readonly string[];
}

/** What a probe gets: the gate, where it runs, and the expectation. */
export interface ProbeEnv {
  readonly gate: ReadOnlyCommandGate;
  readonly port: string;
  readonly slot: string | number | undefined;
  readonly expect: ProbeExpectation;
}

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly finding?: Finding;
}

export function query(env: ProbeEnv, command: string, dataBytes?: number): Promise<Asked> {
  return ask(env.gate, command, env.port, env.slot, dataBytes);
}

export const clean: ProbeResult = { outcome: 'clean' };

export function found(id: FindingId, severity: Severity, detail: string): ProbeResult {
  return { outcome: 'finding', finding: { id, severity, detail } };
}

/** No clear answer: still a finding, so the policy decides instead of a silent pass. */
export function inconclusive(id: FindingId, severity: Severity, detail: string): ProbeResult {
  return { outcome: 'inconclusive', finding: { id, severity, detail: `inconclusive: ${detail}` } };
}

/** A module's answer line, shortened for a finding's detail. */
export function quoteAnswer(text: string, max = 80): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}
