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

export async function createPtyPair(dir: string, name: string, timeoutMs = 5000): Promise<PtyPair> {
  const host = join(dir, `${name}.host`);
  const device = join(dir, `${name}.dev`);
  let child: ChildProcess;
  try {
    child = spawn('socat', [`pty,${socatOpts},link=${host}`, `pty,${socatOpts},link=${device}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    throw new PtyError(
      `cannot start socat (is it installed? apt-get install socat): ${(e as Error).message}`,
    );
  }
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (e) => reject(new PtyError(`socat failed to start: ${e.message}`))),
  );
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    while (!(existsSync(host) && existsSync(device))) {
      if (child.exitCode !== null)
        throw new PtyError(`socat exited early (${child.exitCode}): ${stderr.trim()}`);
      if (Date.now() > deadline)
        throw new PtyError(`socat did not create ${host} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await Promise.race([ready, spawnFailed]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const pid = child.pid ?? -1;
  return {
    host,
    device,
    hostPts: realpathSync(host),
    pid,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
