import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { startSocatLink, type SocatLink } from '../pty.ts';

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

export async function startTap(dir: string, name: string, timeoutMs = 5000): Promise<Tap> {
  const mcuPort = join(dir, `${name}.mcu`);
  const modemPort = join(dir, `${name}.modem`);
  const up = join(dir, `${name}.mcu-to-modem.bin`);
  const down = join(dir, `${name}.modem-to-mcu.bin`);
  let link: SocatLink;
  try {
    link = await startSocatLink({
      a: mcuPort,
      b: modemPort,
      socatOptions: ['-r', up, '-R', down],
      ready: [up, down],
      what: `tap ${name}`,
      timeoutMs,
    });
  } catch (e) {
    throw new TapError((e as Error).message, { cause: e });
  }
  const stop = link.stop;
  realpathSync(mcuPort); // both links resolve to live /dev/pts entries
  realpathSync(modemPort);
  const read = (f: string) => (existsSync(f) ? new Uint8Array(readFileSync(f)) : new Uint8Array());
  return {
    mcuPort,
    modemPort,
    pid: link.pid,
    capture: () => ({ mcuToModem: read(up), modemToMcu: read(down) }),
    close: stop,
  };
}
