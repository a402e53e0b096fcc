import { Writable } from 'node:stream';

/** Where a command writes; tests pass their own to capture output. */
export interface CliIO {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Reads a line from the terminal without echo (passphrases/PINs); undefined if not a TTY. */
  promptSecret?: (question: string) => Promise<string>;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export type CommandFn = (argv: string[], io: CliIO) => Promise<number>;

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value) + '\n');
}
