import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { TransportTimeoutError } from '../../main/transport/transport.ts';
import { createPtyPair, type PtyPair } from '../pty.ts';
import { ModemSimulator } from './simulator.ts';
import type { ModemSimOptions } from './types.ts';

/** A simulator on a fresh PTY pair, with the station end opened raw; for tests and benches. */
export interface ModemHarness {
  readonly dir: string;
  readonly pair: PtyPair;
  readonly sim: ModemSimulator;
  /** The station's end, raw bytes. */
  readonly host: SerialTransport;
  readonly stateFile: string;
  /** Sends text as latin1 bytes. */
  send(text: string | Uint8Array): Promise<void>;
  /** Reads until the bytes received end with `tail` (or `tail` matches); returns them as latin1. */
  readUntil(tail: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `cmd` + CR and reads through its final result line (OK, ERROR, +CME ERROR). */
  at(cmd: string, timeoutMs?: number): Promise<string>;
  /** Everything that arrives within `ms` (for "nothing is sent" checks). */
  drain(ms: number): Promise<string>;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<Omit<ModemSimOptions, 'devicePath'>> & {
  /** Reuse a directory (state file survives between harnesses); removed by close() only if created here. */
  dir?: string;
};

const finalResult = /\r\n(OK|ERROR|\+CME ERROR: [^\r]*)\r\n$/;
const testImei = '490154203237518';
const testIccid = '89860436101892671308';

/** Starts a simulator (EC25, 921600 baud, latencyScale 0.05 unless told) on a new PTY pair. */
export async function startModemHarness(o: HarnessOptions = {}): Promise<ModemHarness> {
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'keyline-modem-'));
  const pair = await createPtyPair(dir, `m${Math.random().toString(36).slice(2, 8)}`);
  const baud = o.baud ?? 921_600;
  const stateFile = o.stateFile ?? join(dir, 'modem.json');
  let sim: ModemSimulator;
  let host: SerialTransport;
  try {
    sim = await ModemSimulator.start({
      model: 'EC25',
      imei: testImei,
      iccid: testIccid,
      latencyScale: 0.05,
      onUnplug: () => pair.close(),
      ...o,
      baud,
      stateFile,
      devicePath: pair.device,
    });
    host = await SerialTransport.open({ path: pair.host, baudRate: baud, parity: 'none' });
  } catch (e) {
    await pair.close();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let buffered = '';
  const readUntil = async (tail: string | RegExp, timeoutMs = 5000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    const done = () => (typeof tail === 'string' ? buffered.endsWith(tail) : tail.test(buffered));
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no ${String(tail)} within ${timeoutMs} ms; got ${JSON.stringify(buffered)}`,
        );
      buffered += Buffer.from(await host.read(65536, left)).toString('latin1');
    }
    const out = buffered;
    buffered = '';
    return out;
  };
  const send = (text: string | Uint8Array) =>
    host.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  return {
    dir,
    pair,
    sim,
    host,
    stateFile,
    send,
    readUntil,
    async at(cmd, timeoutMs) {
      await send(`${cmd}\r`);
      return readUntil(finalResult, timeoutMs);
    },
    async drain(ms) {
      const end = Date.now() + ms;
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) break;
        try {
          buffered += Buffer.from(await host.read(65536, left)).toString('latin1');
        } catch (e) {
          if (e instanceof TransportTimeoutError) break;
          throw e;
        }
      }
      const out = buffered;
      buffered = '';
      return out;
    },
    async close() {
      try {
        await sim.stop();
        await host.close();
      } finally {
        await pair.close();
        if (ownDir) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Runs `fn` against a fresh harness and always closes it. */
export async function withModemHarness(
  opts: HarnessOptions,
  fn: (h: ModemHarness) => Promise<void>,
): Promise<void> {
  const h = await startModemHarness(opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}
