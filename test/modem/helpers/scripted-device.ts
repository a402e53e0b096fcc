import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialTransport } from '../../../main/transport/serial-transport.ts';
import { createPtyPair, type PtyPair } from '../../../sim/pty.ts';

/** What a scripted answer can do on the device end of the line. */
export interface DeviceIo {
  send(bytes: string | Uint8Array): Promise<void>;
  /** Reads exactly n raw bytes sent by the host (a data phase). */
  readData(n: number, timeoutMs?: number): Promise<Uint8Array>;
  /** Bytes the host has sent that nobody read yet (peek, for flow-control checks). */
  pendingBytes(): number;
  /** Waits, then reads whatever arrived meanwhile into the pending buffer. */
  settle(ms: number): Promise<void>;
}

export type Script = (command: string, io: DeviceIo) => Promise<void> | void;

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/**
 * A tiny scripted peer for AT-engine tests: one PTY pair, the test's script answers each
 * command line. It knows nothing of Quectel; the real protocol peer is sim/modem.
 */
export class ScriptedDevice {
  readonly commands: string[] = [];
  private buf = new Uint8Array(0);
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    readonly pair: PtyPair,
    private readonly dir: string,
    private readonly dev: SerialTransport,
    public script: Script,
  ) {}

  static async start(script: Script): Promise<ScriptedDevice> {
    const dir = mkdtempSync(join(tmpdir(), 'keyline-modem-'));
    const pair = await createPtyPair(dir, 'm');
    const dev = await SerialTransport.open({ path: pair.device, baudRate: 115200, parity: 'none' });
    const d = new ScriptedDevice(pair, dir, dev, script);
    d.loop = d.run();
    return d;
  }

  get host(): string {
    return this.pair.host;
  }

  async openHost(): Promise<SerialTransport> {
    return SerialTransport.open({ path: this.pair.host, baudRate: 115200, parity: 'none' });
  }

  /** Sends unsolicited bytes from the device. */
  async send(bytes: string | Uint8Array): Promise<void> {
    await this.dev.write(typeof bytes === 'string' ? latin1(bytes) : bytes);
  }

  /** Unplugs: the host sees its port close. */
  async unplug(): Promise<void> {
    await this.pair.close();
  }

  async stop(): Promise<void> {
    await this.dev.close();
    await this.pair.close();
    await this.loop.catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async fill(timeoutMs: number): Promise<void> {
    const chunk = await this.dev.read(65536, timeoutMs);
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf, 0);
    next.set(chunk, this.buf.length);
    this.buf = next;
  }

  private take(n: number): Uint8Array {
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  private async run(): Promise<void> {
    const io: DeviceIo = {
      send: (b) => this.send(b),
      readData: async (n, timeoutMs = 10_000) => {
        const deadline = Date.now() + timeoutMs;
        while (this.buf.length < n) await this.fill(Math.max(1, deadline - Date.now()));
        return this.take(n);
      },
      pendingBytes: () => this.buf.length,
      settle: async (ms) => {
        const end = Date.now() + ms;
        for (;;) {
          const left = end - Date.now();
          if (left <= 0) return;
          try {
            await this.fill(left);
          } catch {
            return;
          }
        }
      },
    };
    for (;;) {
      let cr = this.buf.indexOf(0x0d);
      while (cr < 0) {
        try {
          await this.fill(60_000);
        } catch {
          return;
        }
        cr = this.buf.indexOf(0x0d);
      }
      const line = String.fromCharCode(...this.take(cr + 1).subarray(0, cr)).replace(/^\n+/, '');
      this.commands.push(line);
      try {
        await this.script(line, io);
      } catch {
        return;
      }
    }
  }
}
