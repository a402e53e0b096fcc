import type { SlotConfig } from './slot.ts';

/** A `--slot` value that cannot be read. */
export class SlotSpecError extends Error {
  override name = 'SlotSpecError';
  constructor(
    readonly spec: string,
    reason: string,
  ) {
    super(`--slot "${spec}": ${reason}`);
  }
}

/**
 * Parses `modem=PORT,mcu=PORT[,name=NAME]` (the CLI's `--slot`). Unnamed slots are
 * numbered by position from 1. Ports and names must be unique across the batch.
 */
export function parseSlotSpecs(specs: readonly string[]): SlotConfig[] {
  const out: SlotConfig[] = [];
  specs.forEach((spec, i) => {
    const fields = new Map<string, string>();
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new SlotSpecError(spec, `"${part}" is not key=value`);
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (!['modem', 'mcu', 'name'].includes(key))
        throw new SlotSpecError(spec, `unknown key "${key}" (modem, mcu, name)`);
      if (fields.has(key)) throw new SlotSpecError(spec, `"${key}" given twice`);
      if (value === '') throw new SlotSpecError(spec, `"${key}" is empty`);
      fields.set(key, value);
    }
    const modemPort = fields.get('modem');
    const mcuPort = fields.get('mcu');
    if (!modemPort) throw new SlotSpecError(spec, 'missing modem=PORT');
    if (!mcuPort) throw new SlotSpecError(spec, 'missing mcu=PORT');
    const slot = fields.get('name') ?? String(i + 1);
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(slot))
      throw new SlotSpecError(spec, `name "${slot}" must be 1–32 characters of A-Z a-z 0-9 _ . -`);
    if (modemPort === mcuPort) throw new SlotSpecError(spec, 'modem and mcu are the same port');
    out.push({ slot, modemPort, mcuPort });
  });
  const seen = new Map<string, string>();
  for (const s of out) {
    for (const [what, v] of [
      ['slot name', s.slot],
      ['port', s.modemPort],
      ['port', s.mcuPort],
    ] as const) {
      const key = `${what === 'port' ? 'port' : 'name'}:${v}`;
      if (seen.has(key))
        throw new SlotSpecError(`${seen.get(key)} / ${s.slot}`, `${what} ${v} used by two slots`);
      seen.set(key, s.slot);
    }
  }
  return out;
}
