import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A wiretap on the MCU–modem UART: one socat process links the MCU's PTY to the modem's
 * PTY and dumps every byte it forwards, each direction into its own file (`-r` / `-R`).
 * The capture is what crossed the wire, not what either side meant to send.
 */
export interface Tap {
  /** The PTY the MCU firmware (and an attacker's second wire) opens. */
  readonly mcuPort: string;
  /** The PTY the modem simulator opens. */
  readonly modemPort: string;
  readonly pid: number;
  /** Everything forwarded so far, per direction. */
  capture(): { mcuToModem: Uint8Array; modemToMcu: Uint8Array };
  /** Ends the link and waits for socat to exit. */
  close(): Promise<void>;
}

export class TapError extends Error {
  override name = 'TapError';
}

const ptyOpts = 'raw,echo=0';

export async function startTap(dir: string, name: string, timeoutMs = 5000): Promise<Tap> {
  const mcuPort = join(dir, `${name}.mcu`);
  const modemPort = join(dir, `${name}.modem`);
  const up = join(dir, `${name}.mcu-to-modem.bin`);
  const down = join(dir, `${name}.modem-to-mcu.bin`);
  let child: ChildProcess;
  try {
    child = spawn(
      'socat',
      ['-r', up, '-R', down, `pty,${ptyOpts},link=${mcuPort}`, `pty,${ptyOpts},link=${modemPort}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    throw new TapError(`cannot start socat for tap ${name}: ${(e as Error).message}`);
  }
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (e) => reject(new TapError(`socat for tap ${name}: ${e.message}`))),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    while (!(existsSync(mcuPort) && existsSync(modemPort) && existsSync(up) && existsSync(down))) {
      if (child.exitCode !== null)
        throw new TapError(`socat for tap ${name} exited (${child.exitCode}): ${stderr.trim()}`);
      if (Date.now() > deadline) throw new TapError(`tap ${name} not ready in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (e) {
    await stop();
    throw e;
  }
  realpathSync(mcuPort); // both links resolve to live /dev/pts entries
  realpathSync(modemPort);
  const read = (f: string) => (existsSync(f) ? new Uint8Array(readFileSync(f)) : new Uint8Array());
  return {
    mcuPort,
    modemPort,
    pid: child.pid ?? -1,
    capture: () => ({ mcuToModem: read(up), modemToMcu: read(down) }),
    close: stop,
  };
}
