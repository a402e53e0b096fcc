/**
 * The open station: its directory, the unlocked signers, the chosen product profile and
 * the provisioning line batches run on. Passphrases pass through here into main/station
 * and are registered with the secret guard; they are never stored or returned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StationStatus } from '../../contract/types.ts';
import { LedgerWriter, ledgerDirOf } from '../ledger/index.ts';
import type { PipelineEvent } from '../pipeline/events.ts';
import { openProvisioningLine, type ProvisioningLine } from '../pipeline/line.ts';
import { unlockStation, type LineStation } from '../pipeline/station.ts';
import type { LoadedProfile } from '../profile/index.ts';
import {
  createStation,
  importIssuingCa,
  readStationConfig,
  STATION_FILES,
  type StationConfig,
} from '../station/index.ts';
import type { RunnerSource, SlotRunner } from './batch-controller.ts';
import { StationAppError } from './errors.ts';
import { loadProfileCatalog, summarize } from './profiles.ts';
import type { SecretRegistry } from './secret-guard.ts';

export interface SessionOptions {
  /** PBKDF2 iterations for stations created here (tests lower it; default is main/station's). */
  kdfIterations?: number;
  operator?: string;
}

function colonHex(hex: string): string {
  return (hex.match(/../g) ?? []).join(':').toUpperCase();
}

export class StationSession implements RunnerSource {
  private currentDir: string | null;
  private station: LineStation | null = null;
  private profile: LoadedProfile | null = null;
  private line: ProvisioningLine | null = null;
  private attemptsLeft: number | null = null;
  private ledgerSize = 0;
  /** Ledger access is serialised: the ledger is locked to one writer at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    dir: string | null,
    private readonly secrets: SecretRegistry,
    private readonly log: (line: string) => void,
    private readonly opts: SessionOptions = {},
  ) {
    this.currentDir = dir ? resolve(dir) : null;
  }

  get dir(): string | null {
    return this.currentDir;
  }

  private config(): StationConfig | null {
    if (!this.currentDir || !existsSync(join(this.currentDir, STATION_FILES.config))) return null;
    try {
      return readStationConfig(this.currentDir);
    } catch {
      return null;
    }
  }

  async status(): Promise<StationStatus> {
    const config = this.config();
    const catalog = await loadProfileCatalog(this.currentDir);
    return {
      dir: this.currentDir,
      exists: config !== null,
      unlocked: this.station !== null,
      issuingCa: config?.issuingCa.subject ?? null,
      stationKeyFingerprint: config ? colonHex(config.ledgerPublicKey.spkiSha256) : null,
      keyStore: config ? config.keys.ledger.kind : null,
      profile: this.profile?.profile.name ?? null,
      profiles: [...catalog.byName.values()].map(summarize),
      ledgerRecords: this.line ? this.line.ledger.size : this.ledgerSize,
      attemptsLeft: this.attemptsLeft,
    };
  }

  /** The unlocked station, or an operator error saying what to do. */
  requireUnlocked(): LineStation {
    if (!this.station) throw new StationAppError('station-locked', 'unlock the station first');
    return this.station;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async open(dir: string): Promise<void> {
    await this.lock();
    this.currentDir = resolve(dir);
    this.attemptsLeft = null;
    this.ledgerSize = 0;
    this.log(`station: using ${this.currentDir}`);
  }

  async create(dir: string, organization: string, passphrase: string): Promise<void> {
    this.secrets.add(passphrase);
    await this.open(dir);
    await createStation(this.currentDir as string, passphrase, {
      organization,
      ...(this.opts.kdfIterations ? { kdfIterations: this.opts.kdfIterations } : {}),
    });
    this.log(`station: created a development CA in ${this.currentDir}`);
    await this.unlock(passphrase);
  }

  async importCa(r: {
    dir: string;
    passphrase: string;
    caCertPath: string;
    caKeyPath: string;
    caKeyPassphrase: string;
  }): Promise<void> {
    this.secrets.add(r.passphrase);
    this.secrets.add(r.caKeyPassphrase);
    const read = (path: string, what: string) => {
      try {
        return readFileSync(resolve(path), 'utf8');
      } catch {
        throw new StationAppError('not-found', `cannot read the ${what} file ${path}`, { path });
      }
    };
    const certificatePem = read(r.caCertPath, 'CA certificate');
    const keyPem = read(r.caKeyPath, 'CA key');
    await this.open(r.dir);
    await importIssuingCa(this.currentDir as string, r.passphrase, {
      certificatePem,
      keyPem,
      keyPassphrase: r.caKeyPassphrase,
      ...(this.opts.kdfIterations ? { kdfIterations: this.opts.kdfIterations } : {}),
    });
    this.log(`station: imported an issuing CA into ${this.currentDir}`);
    await this.unlock(r.passphrase);
  }

  async unlock(passphrase: string): Promise<void> {
    this.secrets.add(passphrase);
    const dir = this.currentDir;
    if (!dir || !this.config())
      throw new StationAppError('station-missing', 'no station in the chosen directory');
    if (this.station) return;
    try {
      this.station = await unlockStation(dir, passphrase);
      this.attemptsLeft = null;
    } catch (e) {
      const left = (e as { attemptsLeft?: unknown }).attemptsLeft;
      if (typeof left === 'number') this.attemptsLeft = left;
      this.log(`station: unlock refused (${(e as Error).name})`);
      throw e;
    }
    this.log(`station: unlocked ${this.station.stationId}`);
    this.ledgerSize = await this.withLedger(async (w) => w.size);
  }

  async lock(): Promise<void> {
    await this.closeLine();
    this.station?.close();
    if (this.station) this.log('station: locked');
    this.station = null;
    this.profile = null;
  }

  async selectProfile(name: string): Promise<void> {
    this.requireUnlocked();
    const catalog = await loadProfileCatalog(this.currentDir);
    const loaded = catalog.byName.get(name);
    if (!loaded)
      throw new StationAppError('profile-missing', `no profile named "${name}"`, { name });
    await this.closeLine();
    this.profile = loaded;
    this.log(`station: profile ${name} (${loaded.source})`);
  }

  private async closeLine(): Promise<void> {
    const line = this.line;
    this.line = null;
    if (line) {
      this.ledgerSize = line.ledger.size;
      await this.serial(() => line.close());
    }
  }

  /**
   * Runs `fn` with the ledger writer: the open line's when a batch line is open, or a
   * writer opened for the call and closed after it.
   */
  withLedger<T>(fn: (w: LedgerWriter) => Promise<T>): Promise<T> {
    const station = this.requireUnlocked();
    return this.serial(async () => {
      if (this.line) return fn(this.line.ledger);
      const writer = await LedgerWriter.open(ledgerDirOf(station.dir), {
        signer: station.ledgerSigner,
        stationId: station.stationId,
        caChainDer: station.caChainDer,
      });
      try {
        const out = await fn(writer);
        this.ledgerSize = writer.size;
        return out;
      } finally {
        await writer.close();
      }
    });
  }

  async openRunner(
    batchId: string,
    onEvent: (ev: PipelineEvent) => void,
  ): Promise<{ runner: SlotRunner; profile: string }> {
    const station = this.requireUnlocked();
    const profile = this.profile;
    if (!profile) throw new StationAppError('profile-missing', 'choose a product profile first');
    await this.closeLine();
    this.line = await this.serial(() =>
      openProvisioningLine({
        station,
        profile,
        batch: batchId,
        operator: this.opts.operator ?? 'operator',
        onEvent,
      }),
    );
    return { runner: this.line.runner, profile: profile.profile.name };
  }

  async close(): Promise<void> {
    await this.lock();
  }
}
