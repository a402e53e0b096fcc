import { splitFields } from '../../modem/tls-config.ts';
import { lineAfter } from './ask.ts';
import {
  clean,
  found,
  inconclusive,
  query,
  quoteAnswer,
  type ProbeEnv,
  type ProbeResult,
} from './probe.ts';

/**
 * AT+QLINUXCMD=? — the test form lists syntax and cannot execute anything. Current
 * firmware removed the command and answers a plain ERROR; any other answer (a syntax
 * line, OK, even a +CME ERROR) means the firmware still knows it.
 */
export async function probeBackdoorCommand(env: ProbeEnv): Promise<ProbeResult> {
  const id = 'backdoor-command';
  const r = await query(env, 'AT+QLINUXCMD=?');
  if (r.kind === 'no-answer') return inconclusive(id, 'critical', `AT+QLINUXCMD=?: ${r.reason}`);
  if (r.kind === 'refused')
    return r.plainError
      ? clean
      : found(
          id,
          'critical',
          `AT+QLINUXCMD=? answers ${r.answer} instead of ERROR: the command exists`,
        );
  const said = r.response.lines.length ? r.response.lines.join(' / ') : r.response.final;
  return found(
    id,
    'critical',
    `AT+QLINUXCMD=? answers "${quoteAnswer(said)}": a Linux shell command is reachable over AT`,
  );
}

/**
 * AT+QADBKEY? — firmware that answers with a salt lets anyone compute the ADB unlock key.
 * The salt itself is never put in the finding: it is half of an unlock.
 */
export async function probeAdbUnlock(env: ProbeEnv): Promise<ProbeResult> {
  const id = 'adb-unlock';
  const r = await query(env, 'AT+QADBKEY?');
  if (r.kind === 'no-answer') return inconclusive(id, 'high', `AT+QADBKEY?: ${r.reason}`);
  if (r.kind === 'refused') return clean;
  const salt = lineAfter(r.response, '+QADBKEY:');
  if (salt !== undefined && /^"?\d+"?$/.test(salt))
    return found(
      id,
      'high',
      'AT+QADBKEY? answers with a salt (not recorded): the ADB unlock key can be computed from it',
    );
  return inconclusive(id, 'high', 'AT+QADBKEY? answered OK without a salt');
}

/** AT+QCFG="usbcfg" (query form) — the 9th field is the ADB interface switch. */
export async function probeAdbEnabled(env: ProbeEnv): Promise<ProbeResult> {
  const id = 'adb-enabled';
  const r = await query(env, 'AT+QCFG="usbcfg"');
  if (r.kind === 'no-answer') return inconclusive(id, 'medium', `AT+QCFG="usbcfg": ${r.reason}`);
  // Firmware without the usbcfg item has no USB configuration to expose.
  if (r.kind === 'refused') return clean;
  const rest = lineAfter(r.response, '+QCFG:');
  const fields = rest === undefined ? [] : splitFields(rest);
  // "usbcfg",<vid>,<pid>,<diag>,<nmea>,<at>,<modem>,<net>,<adb>,<uac>
  if (fields.length < 9 || fields[0].replace(/"/g, '').toLowerCase() !== 'usbcfg')
    return inconclusive(
      id,
      'medium',
      `usbcfg answer not understood: "${quoteAnswer(r.response.lines.join(' / '))}"`,
    );
  const adb = fields[8];
  if (adb === '0') return clean;
  if (adb === '1')
    return found(
      id,
      'medium',
      `usbcfg reports the ADB interface on (USB ${fields[1]}:${fields[2]})`,
    );
  return inconclusive(id, 'medium', `usbcfg ADB field is "${quoteAnswer(adb, 16)}"`);
}
