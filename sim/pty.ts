import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Two linked pseudo-terminals made by socat. `device` is the end the simulator owns;
 * `host` is the end the station opens, exactly as it would open /dev/ttyUSB0.
 * Killing socat is how a board gets "unplugged".
 */
export interface PtyPair {
  /** Stable symlink the station opens. */
  readonly host: string;
  /** Stable symlink the simulator opens. */
  readonly device: string;
  /** Resolved /dev/pts/N of the host end. */
  readonly hostPts: string;
  readonly pid: number;
  /** Ends the link (both ends see the line drop) and waits for socat to exit. */
  close(): Promise<void>;
}

export class PtyError extends Error {
  override name = 'PtyError';
}

const socatOpts = 'raw,echo=0';

/** A running socat that links two PTYs at stable symlinks. */
export interface SocatLink {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 2 s; resolves once socat has exited. */
  stop(): Promise<void>;
}

/**
 * Starts socat linking two new PTYs at the symlinks `a` and `b` (plus any socat options
 * before the addresses, such as `-r`/`-R` dump files), and waits until every path in
 * `ready` exists. On any failure socat is stopped before the error is thrown.
 */
export async function startSocatLink(opts: {
  a: string;
  b: string;
  socatOptions?: string[];
  ready?: string[];
  what: string;
  timeoutMs?: number;
}): Promise<SocatLink> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let child: ChildProcess;
  try {
    child = spawn(
      'socat',
      [
        ...(opts.socatOptions ?? []),
        `pty,${socatOpts},link=${opts.a}`,
        `pty,${socatOpts},link=${opts.b}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    throw new PtyError(
      `cannot start socat for ${opts.what} (apt-get install socat): ${(e as Error).message}`,
    );
  }
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (e) =>
      reject(new PtyError(`socat for ${opts.what} failed to start: ${e.message}`)),
    ),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const waitFor = [opts.a, opts.b, ...(opts.ready ?? [])];
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    while (!waitFor.every((p) => existsSync(p))) {
      if (child.exitCode !== null)
        throw new PtyError(
          `socat for ${opts.what} exited early (${child.exitCode}): ${stderr.trim()}`,
        );
      if (Date.now() > deadline)
        throw new PtyError(`socat for ${opts.what} not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await Promise.race([ready, spawnFailed]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid ?? -1, stop };
}

export async function createPtyPair(dir: string, name: string, timeoutMs = 5000): Promise<PtyPair> {
  const host = join(dir, `${name}.host`);
  const device = join(dir, `${name}.dev`);
  const link = await startSocatLink({ a: host, b: device, what: `PTY pair ${name}`, timeoutMs });
  return {
    host,
    device,
    hostPts: realpathSync(host),
    pid: link.pid,
    close: link.stop,
  };
}
