/** Failures of the station directory (main/station). Never carry a passphrase. */
export class StationError extends Error {
  override name = 'StationError';
  readonly code: string = 'STATION_ERROR';
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(`station ${dir}: ${message}`);
  }
}

export class StationExistsError extends StationError {
  override name = 'StationExistsError';
  override readonly code = 'STATION_EXISTS';
  constructor(dir: string, what: string) {
    super(dir, `${what}; pass --force to replace it (the old one is kept aside)`);
  }
}

export class StationNotFoundError extends StationError {
  override name = 'StationNotFoundError';
  override readonly code = 'STATION_NOT_FOUND';
  constructor(dir: string) {
    super(dir, 'no station here (station.json missing); run keyline ca init first');
  }
}

export class StationCorruptError extends StationError {
  override name = 'StationCorruptError';
  override readonly code = 'STATION_CORRUPT';
  constructor(dir: string, file: string, reason: string) {
    super(dir, `${file}: ${reason}`);
  }
}

export class WeakPassphraseError extends StationError {
  override name = 'WeakPassphraseError';
  override readonly code = 'WEAK_PASSPHRASE';
  constructor(dir: string, minLength: number) {
    super(dir, `the station passphrase must be at least ${minLength} characters`);
  }
}

/** Wrong station passphrase; says how many attempts remain before the station locks. */
export class StationPassphraseError extends StationError {
  override name = 'StationPassphraseError';
  override readonly code = 'WRONG_PASSPHRASE';
  constructor(
    dir: string,
    readonly failures: number,
    readonly attemptsLeft: number,
  ) {
    super(
      dir,
      `wrong passphrase (${failures} failed, ${attemptsLeft} left before the station locks)`,
    );
  }
}

/** Wrong token PIN (PKCS#11 station); says how many attempts remain before the station locks. */
export class StationPinError extends StationError {
  override name = 'StationPinError';
  override readonly code = 'WRONG_PIN';
  constructor(
    dir: string,
    readonly failures: number,
    readonly attemptsLeft: number,
  ) {
    super(
      dir,
      `wrong token PIN (${failures} failed, ${attemptsLeft} left before the station locks)`,
    );
  }
}
