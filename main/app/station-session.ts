/**
 * The open station: its directory, unlocked signers, the chosen product profile, and the
 * runner factory for batches. Passphrases pass through here into the domain and are
 * registered with the secret guard; they are never stored or returned.
 */
import type { StationStatus } from '../../contract/types.ts';
import type { PipelineEvent } from '../pipeline/events.ts';
import type { RunnerSource, SlotRunner } from './batch-controller.ts';
import { StationAppError } from './errors.ts';
import type { SecretRegistry } from './secret-guard.ts';

export class StationSession implements RunnerSource {
  private currentDir: string | null;

  constructor(
    dir: string | null,
    private readonly secrets: SecretRegistry,
    private readonly log: (line: string) => void,
  ) {
    this.currentDir = dir;
  }

  get dir(): string | null {
    return this.currentDir;
  }

  async status(): Promise<StationStatus> {
    return {
      dir: this.currentDir,
      exists: false,
      unlocked: false,
      issuingCa: null,
      stationKeyFingerprint: null,
      keyStore: null,
      profile: null,
      profiles: [],
      ledgerRecords: 0,
      attemptsLeft: null,
    };
  }

  async open(dir: string): Promise<void> {
    this.currentDir = dir;
    this.log(`station: opened ${dir}`);
  }

  async create(_dir: string, _organization: string, passphrase: string): Promise<void> {
    this.secrets.add(passphrase);
    throw new StationAppError('unavailable', 'station creation is not available in this build');
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
    throw new StationAppError('unavailable', 'CA import is not available in this build');
  }

  async unlock(passphrase: string): Promise<void> {
    this.secrets.add(passphrase);
    throw new StationAppError('unavailable', 'unlocking is not available in this build');
  }

  async lock(): Promise<void> {}

  async selectProfile(name: string): Promise<void> {
    throw new StationAppError('profile-missing', `no profile "${name}"`, { name });
  }

  async openRunner(
    _batchId: string,
    _onEvent: (ev: PipelineEvent) => void,
  ): Promise<{ runner: SlotRunner; profile: string }> {
    throw new StationAppError('unavailable', 'batches are not available in this build');
  }

  async close(): Promise<void> {}
}
