import { sha256 } from '@noble/hashes/sha2.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { luhnCheckDigit } from '../certs/hardware-ids.ts';
import { FaultPlan, parseFaultSpec, type SlotFaults } from './faults.ts';
import { ModemSimulator, type ModemModel, type ModemPersonality } from './modem/index.ts';
import { createPtyPair, type PtyPair } from './pty.ts';
import { BootloaderSimulator, type McuFamily } from './stm32/index.ts';

/** A value for every slot, or a function of the slot number (1-based). */
export type PerSlot<T> = T | ((slot: number) => T);

export interface FixtureOptions {
  slots: number;
  /** Modem line baud (pacing). Default 115200. */
  baud?: number;
  /** Bootloader line baud (pacing). Default 115200. */
  mcuBaud?: number;
  /** Where PTY links and state files live; default a fresh temp dir, removed by stop(). */
  dir?: string;
  /** A `--faults` spec, or already parsed faults. */
  faults?: string | FaultPlan | ((slot: number) => Partial<SlotFaults>);
  /** Board identities and fault bit flips derive from it. Default 1. */
  seed?: number;
  modemModel?: PerSlot<ModemModel>;
  mcuFamily?: PerSlot<McuFamily>;
  modemPersonality?: PerSlot<ModemPersonality>;
  /** Bootloader copies the F4/L0 small-signature-read quirk (see BootloaderSimOptions). */
  mcuSignatureReadQuirk?: PerSlot<boolean>;
  /** Multiplies every modelled delay in both simulators; 0 = none. Default 1. */
  latencyScale?: number;
  /** One line per simulator event, tagged with the slot. */
  log?: (slot: number, source: 'modem' | 'mcu', line: string) => void;
}

export interface FixtureSlot {
  readonly slot: number;
  /** Host end the station opens (stable symlink to a /dev/pts/N). */
  readonly modemPort: string;
  readonly mcuPort: string;
  readonly modemPts: string;
  readonly mcuPts: string;
  readonly imei: string;
  readonly iccid: string;
  /** 24 lowercase hex digits. */
  readonly mcuUid: string;
  readonly modemModel: ModemModel;
  readonly mcuFamily: McuFamily;
  readonly modem: ModemSimulator;
  readonly mcu: BootloaderSimulator;
  readonly modemStateFile: string;
  /** Raw flash image (metadata in `<file>.json`). */
  readonly mcuStateFile: string;
  /** socat process ids of the two PTY pairs (modem, mcu). */
  readonly socatPids: readonly number[];
}

export interface Fixture {
  readonly dir: string;
  readonly slots: readonly FixtureSlot[];
  /** The slot numbered `n` (1-based); throws if there is none. */
  slot(n: number): FixtureSlot;
  /** Stops every simulator, closes every PTY pair; removes the dir if the fixture made it. */
  stop(): Promise<void>;
}

export class FixtureError extends Error {
  override name = 'FixtureError';
  constructor(
    readonly slot: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(slot === undefined ? message : `fixture slot ${slot}: ${message}`, options);
  }
}

export interface BoardIds {
  imei: string;
  iccid: string;
  mcuUid: string;
}

function digitsFrom(bytes: Uint8Array, count: number): string {
  let s = '';
  for (let i = 0; s.length < count; i++) s += (bytes[i % bytes.length] % 10).toString();
  return s;
}

/**
 * Hardware IDs of the board in `slot`, a pure function of (seed, slot): the same seed
 * gives the same boards (so a rerun on a kept state dir finds its own flash and files).
 * IMEI: "86" + 6 seed digits (TAC) + the slot as a 6-digit serial + Luhn digit. ICCID:
 * "8949" + 9 seed digits + the slot as a 6-digit serial + Luhn digit (20 digits). UID:
 * the first 12 bytes of SHA-256 over (seed, slot).
 * Slots never share an IMEI or ICCID (the slot is the serial) nor, in practice, a UID.
 */
export function boardIds(seed: number, slot: number): BoardIds {
  const enc = new TextEncoder();
  const base = sha256(enc.encode(`keyline-fixture/${seed}`));
  const imeiBody = `86${digitsFrom(base, 6)}${String(slot).padStart(6, '0')}`;
  const iccidBody = `8949${digitsFrom(base.subarray(8), 9)}${String(slot).padStart(6, '0')}`;
  const uid = sha256(enc.encode(`keyline-fixture/${seed}/uid/${slot}`)).subarray(0, 12);
  return {
    imei: imeiBody + luhnCheckDigit(imeiBody),
    iccid: iccidBody + luhnCheckDigit(iccidBody),
    mcuUid: Buffer.from(uid).toString('hex'),
  };
}

function pick<T>(v: PerSlot<T> | undefined, slot: number, fallback: T): T {
  if (v === undefined) return fallback;
  return typeof v === 'function' ? (v as (slot: number) => T)(slot) : v;
}

function faultsFor(faults: FixtureOptions['faults'], slot: number): SlotFaults {
  if (faults === undefined) return { modem: [], mcu: [] };
  if (typeof faults === 'string') return parseFaultSpec(faults).forSlot(slot);
  if (faults instanceof FaultPlan) return faults.forSlot(slot);
  const f = faults(slot);
  return { modem: f.modem ?? [], mcu: f.mcu ?? [] };
}

interface SlotParts {
  pairs: PtyPair[];
  modem?: ModemSimulator;
  mcu?: BootloaderSimulator;
}

async function stopParts(p: SlotParts): Promise<void> {
  await Promise.allSettled([p.modem?.stop(), p.mcu?.stop()]);
  await Promise.allSettled(p.pairs.map((x) => x.close()));
}

/** How many slots start at once: each start spawns two socat processes. */
const START_CONCURRENCY = 8;

/**
 * Starts the virtual fixture: per slot a modem simulator and an STM32 bootloader
 * simulator, each on its own socat PTY pair. On any failure everything already started
 * is stopped again before the error is thrown.
 */
export async function startFixture(opts: FixtureOptions): Promise<Fixture> {
  if (!Number.isInteger(opts.slots) || opts.slots < 1)
    throw new FixtureError(undefined, `slots must be a positive integer, got ${opts.slots}`);
  // Parse once up front so a bad spec fails before any process starts.
  const plan = typeof opts.faults === 'string' ? parseFaultSpec(opts.faults) : opts.faults;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'keyline-fixture-'));
  if (!ownDir) mkdirSync(dir, { recursive: true });
  const seed = opts.seed ?? 1;
  const parts: SlotParts[] = [];
  const slots: FixtureSlot[] = [];

  const startSlot = async (n: number): Promise<FixtureSlot> => {
    const p: SlotParts = { pairs: [] };
    parts.push(p);
    const ids = boardIds(seed, n);
    const modemModel = pick(opts.modemModel, n, 'EC25');
    const mcuFamily = pick(opts.mcuFamily, n, 'F4');
    const faults = faultsFor(plan, n);
    const log = opts.log;
    try {
      // Links left by a fixture that was killed could point at live ptys of other
      // processes and be taken for the new ones: clear them first.
      for (const line of ['modem', 'mcu'])
        for (const end of ['host', 'dev'])
          rmSync(join(dir, `slot${n}-${line}.${end}`), { force: true });
      const modemPair = await createPtyPair(dir, `slot${n}-modem`);
      p.pairs.push(modemPair);
      const mcuPair = await createPtyPair(dir, `slot${n}-mcu`);
      p.pairs.push(mcuPair);
      const modemStateFile = join(dir, `slot${n}-modem.json`);
      const mcuStateFile = join(dir, `slot${n}-mcu.bin`);
      p.modem = await ModemSimulator.start({
        devicePath: modemPair.device,
        model: modemModel,
        imei: ids.imei,
        iccid: ids.iccid,
        baud: opts.baud ?? 115200,
        stateFile: modemStateFile,
        personality: pick(opts.modemPersonality, n, 'hardened'),
        faults: faults.modem,
        seed: seed * 1000 + n,
        latencyScale: opts.latencyScale,
        // The unplug fault drops the line: the station sees its port close.
        onUnplug: () => modemPair.close(),
        log: log && ((line) => log(n, 'modem', line)),
      });
      p.mcu = await BootloaderSimulator.start({
        devicePath: mcuPair.device,
        family: mcuFamily,
        uid: ids.mcuUid,
        baud: opts.mcuBaud ?? 115200,
        stateFile: mcuStateFile,
        faults: faults.mcu,
        smallSignatureReadQuirk: pick(opts.mcuSignatureReadQuirk, n, false),
        onUnplug: () => mcuPair.close(),
        seed: seed * 1000 + n,
        latencyScale: opts.latencyScale,
        log: log && ((line) => log(n, 'mcu', line)),
      });
      return {
        slot: n,
        modemPort: modemPair.host,
        mcuPort: mcuPair.host,
        modemPts: modemPair.hostPts,
        mcuPts: mcuPair.hostPts,
        ...ids,
        modemModel,
        mcuFamily,
        modem: p.modem,
        mcu: p.mcu,
        modemStateFile,
        mcuStateFile,
        socatPids: [modemPair.pid, mcuPair.pid],
      };
    } catch (e) {
      throw new FixtureError(n, (e as Error).message, { cause: e });
    }
  };

  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(parts.map(stopParts));
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let first = 1; first <= opts.slots; first += START_CONCURRENCY) {
      const batch: Promise<FixtureSlot>[] = [];
      for (let n = first; n < first + START_CONCURRENCY && n <= opts.slots; n++)
        batch.push(startSlot(n));
      const results = await Promise.allSettled(batch);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      for (const r of results) if (r.status === 'fulfilled') slots.push(r.value);
    }
  } catch (e) {
    await stopAll();
    throw e;
  }

  return {
    dir,
    slots,
    slot(n: number): FixtureSlot {
      const s = slots[n - 1];
      if (!s) throw new FixtureError(n, `no such slot (fixture has ${slots.length})`);
      return s;
    },
    stop: stopAll,
  };
}
