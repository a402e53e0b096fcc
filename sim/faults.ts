import type { ModemFault } from './modem/index.ts';
import { BOOTLOADER_STEPS, type BootloaderFault, type BootloaderStep } from './stm32/index.ts';

/**
 * The `--faults` grammar (documented with examples in sim/README.md):
 *
 *   SPEC   = ENTRY *( ";" ENTRY )
 *   ENTRY  = SLOTS ":" ("modem" | "mcu") "." KIND [ "=" ARG ] [ "#" OCCURRENCE ]
 *   SLOTS  = "*" | RANGE *( "," RANGE ),  RANGE = N | N "-" M
 *
 * Parsing is strict: any token it cannot place is a FaultSpecError naming that token.
 */

export interface SlotFaults {
  modem: ModemFault[];
  mcu: BootloaderFault[];
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
  constructor(
    readonly token: string,
    readonly reason: string,
  ) {
    super(`bad fault "${token}": ${reason}`);
  }
}

type SlotSelector = '*' | readonly (readonly [number, number])[];

interface FaultEntry {
  readonly slots: SlotSelector;
  readonly target: 'modem' | 'mcu';
  readonly fault: ModemFault | BootloaderFault;
}

/** A parsed spec: which faults each slot gets (slot numbers start at 1). */
export class FaultPlan {
  constructor(readonly entries: readonly FaultEntry[]) {}

  static empty(): FaultPlan {
    return new FaultPlan([]);
  }

  forSlot(slot: number): SlotFaults {
    const out: SlotFaults = { modem: [], mcu: [] };
    for (const e of this.entries) {
      const hit = e.slots === '*' || e.slots.some(([a, b]) => slot >= a && slot <= b);
      if (!hit) continue;
      if (e.target === 'modem') out.modem.push(e.fault as ModemFault);
      else out.mcu.push(e.fault as BootloaderFault);
    }
    return out;
  }
}

function positiveInt(token: string, what: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text))
    throw new FaultSpecError(token, `${what} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min) throw new FaultSpecError(token, `${what} must be at least ${min}, got ${n}`);
  return n;
}

function parseSlots(token: string, text: string): SlotSelector {
  if (text === '*') return '*';
  const ranges: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new FaultSpecError(token, `slot "${part}" is not N, N-M or *`);
    const a = positiveInt(token, 'slot', m[1]);
    const b = m[2] === undefined ? a : positiveInt(token, 'slot', m[2]);
    if (b < a) throw new FaultSpecError(token, `slot range ${a}-${b} is backwards`);
    ranges.push([a, b]);
  }
  return ranges;
}

function atCommand(token: string, text: string): string {
  const cmd = text.trim();
  if (!/^AT[+&]?[A-Z0-9_]*$/i.test(cmd))
    throw new FaultSpecError(token, `"${cmd}" is not an AT command name (e.g. AT+QFUPL)`);
  return cmd.toUpperCase();
}

function need(token: string, kind: string, arg: string | undefined): string {
  if (arg === undefined || arg === '') throw new FaultSpecError(token, `${kind} needs "=<value>"`);
  return arg;
}

function modemFault(
  token: string,
  kind: string,
  arg: string | undefined,
  occurrence?: number,
): ModemFault {
  const occ = occurrence === undefined ? {} : { occurrence };
  switch (kind) {
    case 'stall':
      return { kind: 'stall', command: atCommand(token, need(token, kind, arg)), ...occ };
    case 'error':
      return { kind: 'error', command: atCommand(token, need(token, kind, arg)), ...occ };
    case 'cme': {
      const [cmd, code] = need(token, kind, arg).split('/');
      if (code === undefined) throw new FaultSpecError(token, 'cme needs "=<AT command>/<code>"');
      return {
        kind: 'error',
        command: atCommand(token, cmd),
        cme: positiveInt(token, 'CME code', code, 0),
        ...occ,
      };
    }
    case 'corrupt-upload':
    case 'drop-upload':
      return { kind, offset: positiveInt(token, 'byte offset', need(token, kind, arg), 0), ...occ };
    case 'unplug': {
      const [cmd, after] = need(token, kind, arg).split('@');
      return {
        kind: 'unplug',
        command: atCommand(token, cmd),
        ...(after === undefined ? {} : { afterBytes: positiveInt(token, 'byte count', after, 0) }),
        ...occ,
      };
    }
    default:
      throw new FaultSpecError(
        token,
        `unknown modem fault "${kind}" (stall, error, cme, corrupt-upload, drop-upload, unplug)`,
      );
  }
}

/** A command step (stall and unplug act on commands; the 0x7F sync is not one). */
function commandStep(token: string, text: string): BootloaderStep {
  const s = step(token, text);
  if (s === 'sync')
    throw new FaultSpecError(token, '"sync" is not a command here (corrupt-ack=sync is)');
  return s;
}

function step(token: string, text: string): BootloaderStep {
  if ((BOOTLOADER_STEPS as readonly string[]).includes(text)) return text as BootloaderStep;
  throw new FaultSpecError(
    token,
    `unknown bootloader step "${text}" (${BOOTLOADER_STEPS.join(', ')})`,
  );
}

function mcuFault(
  token: string,
  kind: string,
  arg: string | undefined,
  occurrence?: number,
): BootloaderFault {
  const occ = occurrence === undefined ? {} : { occurrence };
  switch (kind) {
    case 'nack-write': {
      const v = need(token, kind, arg);
      const always = v.endsWith('+');
      const block = positiveInt(token, 'write block', always ? v.slice(0, -1) : v);
      if (occurrence !== undefined) throw new FaultSpecError(token, 'nack-write takes no #n');
      return always ? { kind, block, always } : { kind, block };
    }
    case 'corrupt-ack':
      return { kind, step: step(token, need(token, kind, arg)), ...occ };
    case 'stall': {
      const v = need(token, kind, arg);
      if (/^\d+$/.test(v)) {
        if (occurrence !== undefined)
          throw new FaultSpecError(token, 'stall=<n> already names the nth command; drop #n');
        return { kind, occurrence: positiveInt(token, 'command number', v) };
      }
      return { kind, step: commandStep(token, v), ...occ };
    }
    case 'slow-erase': {
      const v = need(token, kind, arg);
      const factor = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v) || !(factor > 0))
        throw new FaultSpecError(token, `slow-erase factor must be a positive number, got "${v}"`);
      if (occurrence !== undefined) throw new FaultSpecError(token, 'slow-erase takes no #n');
      return { kind, factor };
    }
    case 'corrupt-read':
    case 'drop-read':
      return { kind, offset: positiveInt(token, 'byte offset', need(token, kind, arg), 0), ...occ };
    case 'unplug': {
      const [name, after] = need(token, kind, arg).split('@');
      const s = commandStep(token, name.trim());
      if (after === undefined) return { kind, step: s, ...occ };
      if (s !== 'write')
        throw new FaultSpecError(
          token,
          '"@<bytes>" applies to write only (bytes of its data block)',
        );
      return {
        kind,
        step: s,
        afterBytes: positiveInt(token, 'byte count', after.trim(), 1),
        ...occ,
      };
    }
    default:
      throw new FaultSpecError(
        token,
        `unknown mcu fault "${kind}" (nack-write, corrupt-ack, stall, slow-erase, corrupt-read, drop-read, unplug)`,
      );
  }
}

/** Parses a `--faults` spec; an empty or blank spec means no faults. */
export function parseFaultSpec(spec: string): FaultPlan {
  const entries: FaultEntry[] = [];
  for (const raw of spec.split(';')) {
    const token = raw.trim();
    if (token === '') continue;
    const colon = token.indexOf(':');
    if (colon < 0)
      throw new FaultSpecError(token, 'expected "<slots>:<modem|mcu>.<kind>[=<value>]"');
    const slots = parseSlots(token, token.slice(0, colon).trim());
    let rest = token.slice(colon + 1).trim();
    let occurrence: number | undefined;
    const occ = /#(\d+)$/.exec(rest);
    if (occ) {
      occurrence = positiveInt(token, 'occurrence', occ[1]);
      rest = rest.slice(0, occ.index).trim();
    }
    const eq = rest.indexOf('=');
    const head = (eq < 0 ? rest : rest.slice(0, eq)).trim();
    const arg = eq < 0 ? undefined : rest.slice(eq + 1).trim();
    const dot = head.indexOf('.');
    const target = dot < 0 ? head : head.slice(0, dot);
    const kind = dot < 0 ? '' : head.slice(dot + 1);
    if (target !== 'modem' && target !== 'mcu')
      throw new FaultSpecError(token, `target must be "modem" or "mcu", got "${target}"`);
    if (kind === '') throw new FaultSpecError(token, `missing fault kind after "${target}."`);
    const fault =
      target === 'modem'
        ? modemFault(token, kind, arg, occurrence)
        : mcuFault(token, kind, arg, occurrence);
    entries.push({ slots, target, fault });
  }
  return new FaultPlan(entries);
}
