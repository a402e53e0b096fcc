import { execFile, type ExecFileException } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (where bin/keyline.mjs lives). */
export const REPO = new URL('../../', import.meta.url).pathname;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  cwd?: string;
  /** The whole environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Default 120 s. */
  timeoutMs?: number;
}

/**
 * Runs a program (no shell); resolves with its exit code and output. Rejects when it
 * cannot start or is killed (the timeout), so a hang never reads as a refusal.
 */
export function exec(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd ?? REPO,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 16 << 20,
      },
      (err: ExecFileException | null, stdout: string, stderr: string) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** `node bin/keyline.mjs ...args` as a child process. */
export function runKeyline(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return exec(process.execPath, [join(REPO, 'bin/keyline.mjs'), ...args], opts);
}
