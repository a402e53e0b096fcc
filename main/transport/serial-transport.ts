import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { ByteQueue } from './byte-queue.ts';
import {
  TransportClosedError,
  TransportError,
  TransportTimeoutError,
  type SerialOptions,
  type Transport,
} from './transport.ts';

/** A Transport over a real serial port (or one end of a PTY pair) via node-serialport. */
export class SerialTransport implements Transport {
  private readonly queue: ByteQueue;
  private open = true;

  private constructor(
    private readonly port: SerialPort,
    readonly path: string,
  ) {
    this.queue = new ByteQueue(path);
    port.on('data', (chunk: Buffer) => this.queue.push(new Uint8Array(chunk)));
    port.on('close', () => {
      this.open = false;
      this.queue.close('port closed (device unplugged or closed)');
    });
    port.on('error', () => {
      this.open = false;
      this.queue.close('port error');
    });
  }

  static async open(opts: SerialOptions): Promise<SerialTransport> {
    const port = new SerialPort({
      path: opts.path,
      baudRate: opts.baudRate,
      dataBits: 8,
      stopBits: 1,
      parity: opts.parity,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err
          ? reject(
              new TransportError(
                'open-failed',
                opts.path,
                `${opts.path}: cannot open (${err.message})`,
              ),
            )
          : resolve(),
      ),
    );
    return new SerialTransport(port, opts.path);
  }

  get isOpen(): boolean {
    return this.open && this.port.isOpen;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen)
      throw new TransportError('closed', this.path, `${this.path}: write on a closed port`);
    await new Promise<void>((resolve, reject) => {
      // The write callback fires once the OS has taken every byte. No drain() after it:
      // tcdrain occupies a thread-pool thread until the far end has read the bytes, and
      // every protocol here proves delivery with its answer anyway.
      this.port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) =>
        err
          ? reject(
              new TransportError(
                'write-failed',
                this.path,
                `${this.path}: write failed (${err.message})`,
              ),
            )
          : resolve(),
      );
    });
  }

  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.queue.read(max, timeoutMs, signal).catch((e: unknown) => this.explainTimeout(e));
  }

  readExact(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.queue.readExact(n, timeoutMs, signal).catch((e: unknown) => this.explainTimeout(e));
  }

  /**
   * node-serialport can miss a hang-up that arrives right behind the last data (the poller
   * drains the bytes and never reports the HUP). A silent line whose device node is gone
   * (USB adapter unplugged, PTY link removed) is a closed port, not a slow device: say so.
   */
  private explainTimeout(e: unknown): never {
    if (e instanceof TransportTimeoutError && !existsSync(this.path)) {
      this.open = false;
      this.queue.close('port closed (device node gone: unplugged)');
      throw new TransportClosedError(this.path, 'port closed (device node gone: unplugged)');
    }
    throw e;
  }

  discardInput(): number {
    return this.queue.discard();
  }

  async close(): Promise<void> {
    this.queue.close('port closed');
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
    this.open = false;
  }
}
