import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/**
 * Counts failed unlock attempts (passphrase or PIN) on disk, so back-off and lock-out
 * survive a restart. SoftHSM never locks a PIN by itself, and a passphrase file never
 * does, so the station must.
 */
export interface AttemptGuardOptions {
  stateFile: string;
  /** Failures after which the guard locks for good (until an administrator resets it). */
  maxFailures?: number;
  /** Delay after the first failure; doubles with each further one. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

interface GuardState {
  failures: number;
  lastFailureAt: number;
  locked: boolean;
}

export class UnlockLockedError extends Error {
  override name = 'UnlockLockedError';
  readonly code = 'locked';
  constructor(readonly failures: number) {
    super(
      `locked after ${failures} wrong attempts; an administrator must reset the station's unlock guard`,
    );
  }
}

export class UnlockBackoffError extends Error {
  override name = 'UnlockBackoffError';
  readonly code = 'backoff';
  constructor(
    readonly retryAfterMs: number,
    readonly failures: number,
  ) {
    super(
      `too many wrong attempts (${failures}); try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}

export class AttemptGuard {
  private readonly maxFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: AttemptGuardOptions) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  private read(): GuardState {
    try {
      const s = JSON.parse(readFileSync(this.opts.stateFile, 'utf8')) as Partial<GuardState>;
      return {
        failures: Number(s.failures) || 0,
        lastFailureAt: Number(s.lastFailureAt) || 0,
        locked: s.locked === true,
      };
    } catch {
      return { failures: 0, lastFailureAt: 0, locked: false };
    }
  }

  private write(state: GuardState): void {
    const tmp = `${this.opts.stateFile}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.opts.stateFile);
  }

  /** Delay owed after `failures` consecutive failures. */
  delayAfter(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failures - 1));
  }

  get failures(): number {
    return this.read().failures;
  }

  get locked(): boolean {
    return this.read().locked;
  }

  /** Throws if an attempt may not be made now. Call before checking the secret. */
  assertMayAttempt(): void {
    const s = this.read();
    if (s.locked) throw new UnlockLockedError(s.failures);
    const wait = s.lastFailureAt + this.delayAfter(s.failures) - this.now();
    if (wait > 0) throw new UnlockBackoffError(wait, s.failures);
  }

  recordFailure(): void {
    const s = this.read();
    const failures = s.failures + 1;
    this.write({ failures, lastFailureAt: this.now(), locked: failures >= this.maxFailures });
  }

  recordSuccess(): void {
    const s = this.read();
    if (s.failures !== 0 || s.locked) this.write({ failures: 0, lastFailureAt: 0, locked: false });
  }

  /**
   * Runs `attempt` under the guard: `isWrongSecret` decides which errors count as a wrong
   * passphrase/PIN (other errors, e.g. a missing token, do not).
   */
  async guard<T>(
    attempt: () => Promise<T> | T,
    isWrongSecret: (e: unknown) => boolean,
  ): Promise<T> {
    this.assertMayAttempt();
    try {
      const v = await attempt();
      this.recordSuccess();
      return v;
    } catch (e) {
      if (isWrongSecret(e)) {
        this.recordFailure();
        if (this.read().locked) throw new UnlockLockedError(this.read().failures);
      }
      throw e;
    }
  }
}
