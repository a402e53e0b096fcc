import { ModemError } from '../../modem/errors.ts';
import { parseAti, type ModemFamily } from '../../modem/identity.ts';
import { firstMatch } from '../firmware-match.ts';
import type { Severity } from '../findings.ts';
import { inconclusive, query, quoteAnswer, type ProbeEnv, type ProbeResult } from './probe.ts';

/** What the module says it runs; recorded in the report whether or not it is a finding. */
export interface ModuleFirmware {
  readonly model: string;
  readonly family: ModemFamily;
  /** ATI `Revision:`. */
  readonly revision: string;
  /** AT+QGMR, or the revision when the module has no QGMR. */
  readonly firmware: string;
}

const id = 'firmware';

/**
 * ATI and AT+QGMR against the expected family, the deny-list (high) and, when the profile
 * has one, the allow-list (medium: unknown is not known-bad, but not vetted either).
 */
export async function probeFirmware(
  env: ProbeEnv,
): Promise<ProbeResult & { module?: ModuleFirmware }> {
  const ati = await query(env, 'ATI');
  if (ati.kind === 'no-answer') return inconclusive(id, 'medium', `ATI: ${ati.reason}`);
  if (ati.kind === 'refused') return inconclusive(id, 'medium', `ATI answered ${ati.answer}`);
  let info;
  try {
    info = parseAti(ati.response.lines, { port: env.port, slot: env.slot, step: 'audit' });
  } catch (e) {
    if (!(e instanceof ModemError)) throw e;
    return inconclusive(id, 'high', `ATI: ${quoteAnswer(ati.response.lines.join(' / '), 120)}`);
  }
  let firmware = info.revision;
  const qgmr = await query(env, 'AT+QGMR');
  if (qgmr.kind === 'answer') {
    const line = qgmr.response.lines.find((l) => l.trim() !== '');
    if (line) firmware = line.replace(/^\+QGMR:\s*/i, '').trim();
  }
  // A refused or unanswered QGMR leaves the ATI revision, as the driver does.
  const module: ModuleFirmware = {
    model: info.model,
    family: info.family,
    revision: info.revision,
    firmware,
  };

  const problems: string[] = [];
  let severity: Severity = 'medium';
  if (info.family !== env.expect.family) {
    problems.push(
      `module is ${info.model} (${info.family}), expected a ${env.expect.family} module`,
    );
    severity = 'high';
  }
  const versions = [firmware, info.revision];
  const denied = firstMatch(env.expect.firmwareDeny, versions);
  if (denied !== undefined) {
    problems.push(`firmware ${firmware} is on the deny-list (${denied})`);
    severity = 'high';
  }
  const allow = env.expect.firmwareAllow;
  if (allow !== undefined && allow.length > 0 && firstMatch(allow, versions) === undefined)
    problems.push(`firmware ${firmware} is not on the allow-list`);

  if (problems.length === 0) return { outcome: 'clean', module };
  return {
    outcome: 'finding',
    finding: { id, severity, detail: `${info.model}: ${problems.join('; ')}` },
    module,
  };
}
