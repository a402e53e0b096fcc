/** Where a command gets secrets: an environment variable, else a no-echo prompt. */
export interface SecretSource {
  env: NodeJS.ProcessEnv;
  promptSecret?: (question: string) => Promise<string>;
}

export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
  readonly code = 'SECRET_UNAVAILABLE';
  constructor(
    readonly envName: string,
    what: string,
  ) {
    super(`${what} needed: set ${envName} or run on a terminal to be prompted`);
  }
}

export class SecretMismatchError extends Error {
  override name = 'SecretMismatchError';
  readonly code = 'SECRET_MISMATCH';
  constructor(what: string) {
    super(`the two ${what} entries differ`);
  }
}

/**
 * Reads a passphrase from `envName` or, on a terminal, a prompt (twice when `confirm`).
 * Never from argv: command lines are visible to every user of the machine.
 */
export async function readSecret(
  src: SecretSource,
  envName: string,
  what: string,
  confirm = false,
): Promise<string> {
  const fromEnv = src.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!src.promptSecret) throw new SecretUnavailableError(envName, what);
  const first = await src.promptSecret(`${what}: `);
  if (confirm) {
    const again = await src.promptSecret(`${what} (again): `);
    if (again !== first) throw new SecretMismatchError(what);
  }
  return first;
}
