import { existsSync } from 'node:fs';
import { autoDetect, type BindingPortInterface } from '@serialport/bindings-cpp';
import { ByteQueue } from './byte-queue.ts';
import { LockstepRun } from './lockstep.ts';
import { PolledFdEngine, StreamingBindingEngine, type PortEngine } from './port-engine.ts';
import {
  TransportClosedError,
  TransportError,
  TransportTimeoutError,
  type LockstepOptions,
  type SerialOptions,
  type Transport,
} from './transport.ts';

export interface SerialTransportOptions extends SerialOptions {
  /**
   * How bytes move. 'polled' (default where the OS allows it: Linux, macOS) reads and
   * writes the non-blocking descriptor on the event loop when it is ready; 'binding' uses
   * the serialport binding's own read/write, which go through libuv's thread pool (the
   * only way on Windows, and a reference path for tests).
   */
  io?: 'polled' | 'binding';
}

/** Unix bindings expose the open descriptor and its poller; Windows ones do not. */
function pollable(port: BindingPortInterface): port is BindingPortInterface & {
  fd: number;
  poller: ConstructorParameters<typeof PolledFdEngine>[1];
} {
  const p = port as { fd?: unknown; poller?: unknown };
  return typeof p.fd === 'number' && typeof p.poller === 'object' && p.poller !== null;
}

/**
 * A Transport over a real serial port (or one end of a PTY pair), opened and configured
 * (baud, 8 data bits, parity, 1 stop bit, exclusive lock) through serialport's native
 * binding.
 *
 * Why not the SerialPort stream: every chunk it reads costs two thread-pool round trips
 * (one read that returns data, one that returns EAGAIN) and every write one more, and a
 * lock-step protocol such as AN3155 pays those on each of its ~50 exchanges per credential
 * write. See docs/transport.md.
 */
export class SerialTransport implements Transport {
  private readonly queue: ByteQueue;
  private open = true;
  private readonly engine: PortEngine;
  /** The lock-step run that takes incoming bytes, if one is in progress. */
  private running: LockstepRun | undefined;

  private constructor(
    private readonly port: BindingPortInterface,
    readonly path: string,
    io: 'polled' | 'binding',
  ) {
    this.queue = new ByteQueue(path);
    const sink = {
      data: (bytes: Uint8Array) => {
        // The engine reuses (and wipes) its buffer: a run copies what it needs; so does this
        // (not bytes.slice(): on a Buffer that is a view).
        if (this.running) this.running.feed(bytes);
        else this.queue.push(new Uint8Array(bytes));
      },
      closed: (reason: string) => {
        this.open = false;
        this.running?.fail(new TransportClosedError(this.path, reason));
        this.queue.close(reason);
      },
    };
    this.engine =
      io === 'polled' && pollable(port)
        ? new PolledFdEngine(port.fd, port.poller, path, sink)
        : new StreamingBindingEngine(port, path, sink);
  }

  static async open(opts: SerialTransportOptions): Promise<SerialTransport> {
    let port: BindingPortInterface;
    try {
      port = await autoDetect().open({
        path: opts.path,
        baudRate: opts.baudRate,
        dataBits: 8,
        stopBits: 1,
        parity: opts.parity,
        rtscts: false,
        xon: false,
        xoff: false,
        xany: false,
        hupcl: true,
        lock: true,
      });
    } catch (e) {
      throw new TransportError(
        'open-failed',
        opts.path,
        `${opts.path}: cannot open (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    return new SerialTransport(port, opts.path, opts.io ?? 'polled');
  }

  get isOpen(): boolean {
    return this.open && this.port.isOpen;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen)
      return Promise.reject(
        new TransportError('closed', this.path, `${this.path}: write on a closed port`),
      );
    return this.engine.write(bytes);
  }

  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.queue.read(max, timeoutMs, signal).catch((e: unknown) => this.explainTimeout(e));
  }

  readExact(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.queue.readExact(n, timeoutMs, signal).catch((e: unknown) => this.explainTimeout(e));
  }

  /**
   * A hang-up can arrive right behind the last data and go unreported (the bytes are
   * drained and the HUP is folded into that wake-up). A silent line whose device node is
   * gone (USB adapter unplugged, PTY link removed) is a closed port, not a slow device.
   */
  private explainTimeout(e: unknown): never {
    if (e instanceof TransportTimeoutError && !existsSync(this.path)) {
      this.open = false;
      this.queue.close('port closed (device node gone: unplugged)');
      throw new TransportClosedError(this.path, 'port closed (device node gone: unplugged)');
    }
    throw e;
  }

  lockstep(frames: readonly Uint8Array[], opts: LockstepOptions): Promise<Uint8Array[]> {
    // Drivers run one exchange at a time per port; a second run at once is a defect.
    if (this.running)
      return Promise.reject(new Error(`${this.path}: a lock-step run is already in progress`));
    if (!this.isOpen) return Promise.reject(new TransportClosedError(this.path));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const onAbort = () => run.fail(opts.signal?.reason as Error);
      const run = new LockstepRun(
        this.path,
        frames,
        opts,
        // The answer proves delivery, so the write is not awaited; its failure ends the run.
        (frame) => void this.engine.write(frame).catch((e: unknown) => run.fail(e as Error)),
        (result, leftover) => {
          this.running = undefined;
          opts.signal?.removeEventListener('abort', onAbort);
          this.queue.push(leftover);
          if (!(result instanceof Error)) return resolve(result);
          try {
            this.explainTimeout(result);
          } catch (explained) {
            reject(explained);
          }
        },
      );
      this.running = run;
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      run.start(this.queue.drain());
    });
  }

  discardInput(): number {
    return this.queue.discard();
  }

  async close(): Promise<void> {
    this.open = false;
    this.running?.fail(new TransportClosedError(this.path, 'port closed'));
    this.queue.close('port closed');
    this.engine.stop('port closed');
    if (!this.port.isOpen) return;
    await this.port.close().catch(() => {});
  }
}
