import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { LedgerRecord } from '../../ledger/records.ts';
import type { DeviceAttempt } from '../../ledger/state.ts';
import { exportLedger } from '../../main/ledger/export.ts';
import { LedgerWriter, ledgerDirOf } from '../../main/ledger/index.ts';
import { unlockStation, type LineStation } from '../../main/pipeline/station.ts';
import { createStation } from '../../main/station/index.ts';
import { startFixture, type Fixture, type FixtureOptions } from '../../sim/index.ts';

export const PASSPHRASE = 'pipeline-test-passphrase';
export const repoRoot = new URL('../../', import.meta.url).pathname;

/** A fresh station with a development CA (fast KDF: tests only). */
export async function makeStation(dir: string): Promise<string> {
  const stationDir = join(dir, 'station');
  await createStation(stationDir, PASSPHRASE, {
    organization: 'keyline tests',
    kdfIterations: 1000,
  });
  return stationDir;
}

/**
 * Writes a copy of profiles/demo.json with overrides (caps, timeouts, RDP) and returns
 * its path.
 */
export async function writeProfile(
  dir: string,
  name: string,
  edit: (p: Record<string, Record<string, unknown>>) => void = () => {},
): Promise<string> {
  const p = JSON.parse(await readFile(join(repoRoot, 'profiles/demo.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  edit(p);
  const path = join(dir, `${name}.json`);
  await writeFile(path, JSON.stringify(p, null, 2));
  return path;
}

/** One JSON line of `keyline provision --json`, as far as the tests read it. */
export interface ProvisionLine {
  type: string;
  slot?: string;
  to?: string;
  failure?: { step: string; code: string; reason: string };
  crashedDuring?: string;
}

export interface ProvisionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: ProvisionLine[];
  stderr: string;
}

/**
 * Runs `keyline provision --json` as a child process (the station as it runs on a line);
 * `onLine` sees each event and may kill the child.
 */
export function spawnProvision(
  args: string[],
  onLine: (l: ProvisionLine, child: ChildProcess) => void = () => {},
): Promise<ProvisionRun> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/keyline.mjs'), 'provision', '--json', ...args],
    { env: { ...process.env, KEYLINE_PASSPHRASE: PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: ProvisionLine[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let l: ProvisionLine;
    try {
      l = JSON.parse(text) as ProvisionLine;
    } catch {
      return;
    }
    lines.push(l);
    onLine(l, child);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines, stderr });
    }),
  );
}

/**
 * The common rig of the in-process line tests: a fresh station (unlocked) and a virtual
 * fixture in a temp directory, set up before the file's tests and torn down after them.
 * Read `dir`, `station` and `fixture` inside tests (they exist once `before` has run).
 */
export interface StationRig {
  readonly dir: string;
  readonly station: LineStation;
  readonly fixture: Fixture;
  /** Slot n (1-based) as the runner takes it. */
  slotCfg(n: number): { slot: string; modemPort: string; mcuPort: string };
  /** Every fixture slot, in order. */
  allSlots(): { slot: string; modemPort: string; mcuPort: string }[];
}

export function useStationRig(
  prefix: string,
  fixtureOpts: Omit<FixtureOptions, 'dir'>,
): StationRig {
  let dir: string | undefined;
  let station: LineStation | undefined;
  let fixture: Fixture | undefined;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the station rig's ${what} is used before setup`);
    return v;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    station = await unlockStation(await makeStation(dir), PASSPHRASE);
    fixture = await startFixture({ ...fixtureOpts, dir: join(dir, 'fixture') });
  });
  after(async () => {
    station?.close();
    await fixture?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const cfg = (s: Fixture['slots'][number]) => ({
    slot: String(s.slot),
    modemPort: s.modemPort,
    mcuPort: s.mcuPort,
  });
  return {
    get dir() {
      return need(dir, 'dir');
    },
    get station() {
      return need(station, 'station');
    },
    get fixture() {
      return need(fixture, 'fixture');
    },
    slotCfg: (n) => cfg(need(fixture, 'fixture').slots[n - 1]),
    allSlots: () => need(fixture, 'fixture').slots.map(cfg),
  };
}

/**
 * After a run in another process: unlocks the station, reads every ledger record, notes
 * the intents still open, and exports the ledger to `outDir` (then releases it all).
 */
export async function collectLedger(
  stationDir: string,
  outDir: string,
): Promise<{ records: LedgerRecord[]; openIntents: DeviceAttempt[] }> {
  const station = await unlockStation(stationDir, PASSPHRASE);
  try {
    const ledger = await LedgerWriter.open(ledgerDirOf(stationDir), {
      signer: station.ledgerSigner,
      stationId: station.stationId,
    });
    try {
      const records = Array.from({ length: ledger.size }, (_, i) => ledger.record(i));
      const openIntents = ledger.openIntents();
      await exportLedger(ledger, {
        outDir,
        issuer: station.issuer,
        caChainDer: station.caChainDer,
      });
      return { records, openIntents };
    } finally {
      await ledger.close();
    }
  } finally {
    station.close();
  }
}
