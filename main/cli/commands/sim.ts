import { FaultPlan, FaultSpecError, parseFaultSpec } from '../../../sim/faults.ts';
import { startFixture } from '../../../sim/fixture.ts';
import type { ModemModel, ModemPersonality } from '../../../sim/modem/index.ts';
import { MCU_FAMILIES, isMcuFamily } from '../../../sim/stm32/index.ts';
import { Flags, UsageError, parseArgs } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

const MODEM_MODELS: readonly ModemModel[] = ['EC25', 'BG96', 'M66'];
const PROFILES: readonly ModemPersonality[] = ['hardened', 'exposed'];

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/**
 * `keyline sim --slots N [--baud B] [--mcu-baud B] [--faults SPEC] [--state DIR] [--seed S]
 * [--modem-model M] [--mcu-family F] [--modem-profile hardened|exposed] [--latency-scale X]`
 *
 * Starts the virtual fixture, prints one JSON line per slot and runs until SIGINT/SIGTERM,
 * then stops every simulator and removes its PTYs (and the temp dir unless --state).
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const f = new Flags(parseArgs(argv));
  if (!f.has('slots')) throw new UsageError('missing --slots');
  const slots = f.int('slots', 1, 1, 256);
  const baud = f.int('baud', 115200, 1200, 4_000_000);
  const mcuBaud = f.int('mcu-baud', 115200, 1200, 115200);
  const seed = f.int('seed', 1, 0, 0x7fff_ffff);
  const spec = f.string('faults');
  const state = f.string('state');
  const modemModel = oneOf('modem-model', f.string('modem-model'), MODEM_MODELS);
  const familyRaw = f.string('mcu-family');
  if (familyRaw !== undefined && !isMcuFamily(familyRaw))
    throw new UsageError(
      `--mcu-family must be one of ${MCU_FAMILIES.join(', ')}, got "${familyRaw}"`,
    );
  const mcuFamily = familyRaw !== undefined && isMcuFamily(familyRaw) ? familyRaw : undefined;
  const personality = oneOf('modem-profile', f.string('modem-profile'), PROFILES);
  const scaleRaw = f.string('latency-scale');
  const latencyScale = scaleRaw === undefined ? 1 : Number(scaleRaw);
  if (!(latencyScale >= 0))
    throw new UsageError(`--latency-scale must be a number ≥ 0, got "${scaleRaw}"`);
  f.rejectUnknown();

  let faults: FaultPlan | undefined;
  try {
    faults = spec === undefined ? undefined : parseFaultSpec(spec);
  } catch (e) {
    if (e instanceof FaultSpecError) throw new UsageError(`--faults: ${e.message}`);
    throw e;
  }

  const fixture = await startFixture({
    slots,
    baud,
    mcuBaud,
    dir: state,
    faults,
    seed,
    modemModel,
    mcuFamily,
    modemPersonality: personality,
    latencyScale,
  });
  try {
    for (const s of fixture.slots) {
      printJson(io, {
        slot: s.slot,
        modem: s.modemPts,
        mcu: s.mcuPts,
        modemLink: s.modemPort,
        mcuLink: s.mcuPort,
        imei: s.imei,
        iccid: s.iccid,
        mcuUid: s.mcuUid,
        modemModel: s.modemModel,
        mcuFamily: s.mcuFamily,
      });
    }
    io.stderr.write(
      `keyline sim: ${slots} slot(s) ready in ${fixture.dir}; SIGINT/SIGTERM stops\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await fixture.stop();
  }
  return 0;
}
