// Test-side AN3155 host, written from protocols.md on its own (never from main/mcu or the
// simulator): raw bytes over a SerialTransport so every test sees exactly what went over
// the line.
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';
import { BootloaderSimulator, type BootloaderSimOptions } from '../../sim/stm32/index.ts';

export const ACK = 0x79;
export const NACK = 0x1f;
/** Generous: the machine is shared and loaded. */
export const T = 5000;

export function xor(bytes: Iterable<number>, init = 0): number {
  let x = init;
  for (const b of bytes) x ^= b;
  return x;
}

export function addressBytes(a: number): number[] {
  const b = [(a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff];
  return [...b, xor(b)];
}

export class BootHost {
  constructor(readonly line: SerialTransport) {}

  async send(bytes: number[] | Uint8Array): Promise<void> {
    await this.line.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  async byte(timeoutMs = T): Promise<number> {
    return (await this.line.readExact(1, timeoutMs))[0];
  }

  async bytes(n: number, timeoutMs = T): Promise<Uint8Array> {
    return this.line.readExact(n, timeoutMs);
  }

  async sync(): Promise<number> {
    await this.send([0x7f]);
    return this.byte();
  }

  /** Command byte + complement; returns the answer byte. */
  async command(code: number): Promise<number> {
    await this.send([code, code ^ 0xff]);
    return this.byte();
  }

  /** Read Memory; returns the data or the step ('cmd' | 'addr' | 'len') that was NACKed. */
  async read(address: number, length: number): Promise<Uint8Array | 'cmd' | 'addr' | 'len'> {
    if ((await this.command(0x11)) !== ACK) return 'cmd';
    await this.send(addressBytes(address));
    if ((await this.byte()) !== ACK) return 'addr';
    await this.send([length - 1, (length - 1) ^ 0xff]);
    if ((await this.byte()) !== ACK) return 'len';
    return this.bytes(length);
  }

  /** Write Memory; returns 'ok' or the NACKed step. */
  async write(
    address: number,
    data: Uint8Array,
    badChecksum = false,
  ): Promise<'ok' | 'cmd' | 'addr' | 'data'> {
    if ((await this.command(0x31)) !== ACK) return 'cmd';
    await this.send(addressBytes(address));
    if ((await this.byte()) !== ACK) return 'addr';
    const n = data.length - 1;
    const cks = xor(data, n) ^ (badChecksum ? 0x01 : 0);
    await this.send([n, ...data, cks]);
    return (await this.byte()) === ACK ? 'ok' : 'data';
  }

  /** Extended Erase of a page list, or a special code (0xFFFF/0xFFFE/0xFFFD). */
  async extendedErase(pages: number[] | number): Promise<'ok' | 'cmd' | 'list'> {
    if ((await this.command(0x44)) !== ACK) return 'cmd';
    let body: number[];
    if (typeof pages === 'number') {
      body = [pages >> 8, pages & 0xff];
    } else {
      const n = pages.length - 1;
      body = [n >> 8, n & 0xff];
      for (const p of pages) body.push(p >> 8, p & 0xff);
    }
    await this.send([...body, xor(body)]);
    return (await this.byte(40_000)) === ACK ? 'ok' : 'list';
  }

  /** Go; returns 'ok' or the NACKed step. */
  async go(address: number): Promise<'ok' | 'cmd' | 'addr'> {
    if ((await this.command(0x21)) !== ACK) return 'cmd';
    await this.send(addressBytes(address));
    return (await this.byte()) === ACK ? 'ok' : 'addr';
  }
}

export interface Rig {
  pair: PtyPair;
  sim: BootloaderSimulator;
  host: BootHost;
  close(): Promise<void>;
}

/** A PTY pair, a simulator on its device end and a host transport on the other. */
export async function startRig(
  dir: string,
  name: string,
  opts: Partial<BootloaderSimOptions> & Pick<BootloaderSimOptions, 'family' | 'uid'>,
): Promise<Rig> {
  const pair = await createPtyPair(dir, name);
  let sim: BootloaderSimulator | undefined;
  let line: SerialTransport;
  try {
    sim = await BootloaderSimulator.start({
      devicePath: pair.device,
      baud: 115200,
      stateFile: `${dir}/${name}.bin`,
      latencyScale: 0,
      onUnplug: () => pair.close(),
      ...opts,
    });
    line = await SerialTransport.open({ path: pair.host, baudRate: 115200, parity: 'none' });
  } catch (e) {
    await sim?.stop();
    await pair.close();
    throw e;
  }
  const started = sim;
  return {
    pair,
    sim: started,
    host: new BootHost(line),
    async close() {
      await line.close();
      await started.stop();
      await pair.close();
    },
  };
}
