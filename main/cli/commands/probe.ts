/**
 * `keyline probe --modem PORT [--mcu PORT] [--baud B] [--parity none|even] [--json]` —
 * identifies a board: the modem's model, firmware, IMEI and ICCID (8N1, always), and with
 * `--mcu` the STM32 behind its ROM bootloader (`--parity` even on a real UART, none against
 * the simulator's PTY). Read-only: nothing is written to either chip.
 */
import { openQuectelModem, type ModemIdentity } from '../../modem/index.ts';
import { SerialTransport } from '../../transport/serial-transport.ts';
import type { Parity } from '../../transport/transport.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

/** The shape `probeMcu` (main/mcu, written by another part) promises. */
interface McuProbe {
  pid: number;
  family: string;
  flashKiB: number;
  mcuUid: string;
  bootloaderVersion: string;
}
type ProbeMcu = (
  path: string,
  opts: { baudRate: number; parity: Parity; signal?: AbortSignal },
) => Promise<McuProbe>;

export class McuProbeUnavailableError extends Error {
  override name = 'McuProbeUnavailableError';
  constructor() {
    super('MCU probe not yet available');
  }
}

/** Loaded lazily: the modem-only probe must not depend on the MCU code being present. */
async function loadProbeMcu(): Promise<ProbeMcu> {
  try {
    const mod = (await import('../../mcu/index.ts')) as { probeMcu?: ProbeMcu };
    if (typeof mod.probeMcu !== 'function') throw new McuProbeUnavailableError();
    return mod.probeMcu;
  } catch (e) {
    if (e instanceof McuProbeUnavailableError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND')
      throw new McuProbeUnavailableError();
    throw e;
  }
}

const familyNames: Record<ModemIdentity['family'], string> = {
  lte: 'LTE Standard',
  lpwa: 'LPWA',
  '2g': '2G',
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv));
  if (flags.positionals.length)
    throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const json = flags.bool('json');
  const modemPath = flags.string('modem');
  const mcuPath = flags.string('mcu');
  const baudRate = flags.int('baud', 115_200, 1200, 4_000_000);
  const parityText = flags.string('parity') ?? 'even';
  flags.rejectUnknown();
  if (parityText !== 'none' && parityText !== 'even')
    throw new UsageError(`--parity must be none or even, got "${parityText}"`);
  if (!modemPath && !mcuPath) throw new UsageError('give --modem PORT and/or --mcu PORT');
  if (flags.has('parity') && !mcuPath)
    throw new UsageError('--parity applies to --mcu only (modems are always 8N1)');
  const parity: Parity = parityText;
  // Before touching any port, so a missing MCU part fails fast and leaves the modem alone.
  const probeMcu = mcuPath ? await loadProbeMcu() : undefined;

  let modem: (ModemIdentity & { port: string }) | undefined;
  if (modemPath) {
    const transport = await SerialTransport.open({ path: modemPath, baudRate, parity: 'none' });
    // openQuectelModem owns the transport from here: it closes it on failure and on close().
    const m = await openQuectelModem(transport, { signal: io.signal });
    try {
      modem = { port: modemPath, ...m.identity };
    } finally {
      await m.close();
    }
  }
  let mcu: (McuProbe & { port: string }) | undefined;
  if (mcuPath && probeMcu) {
    mcu = { port: mcuPath, ...(await probeMcu(mcuPath, { baudRate, parity, signal: io.signal })) };
  }

  if (json) {
    printJson(io, { ok: true, ...(modem ? { modem } : {}), ...(mcu ? { mcu } : {}) });
    return 0;
  }
  const out: string[] = [];
  if (modem)
    out.push(
      `modem ${modem.port}: ${modem.manufacturer} ${modem.model} (${familyNames[modem.family]})`,
      `  firmware  ${modem.firmware}`,
      `  IMEI      ${modem.imei}`,
      `  ICCID     ${modem.iccid}`,
    );
  if (mcu)
    out.push(
      `mcu ${mcu.port}: ${mcu.family}, product ID 0x${mcu.pid.toString(16).padStart(3, '0')}, ${mcu.flashKiB} KiB flash, bootloader ${mcu.bootloaderVersion}`,
      `  UID       ${mcu.mcuUid}`,
    );
  io.stdout.write(out.join('\n') + '\n');
  return 0;
}
