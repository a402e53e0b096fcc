/**
 * The two ways SerialTransport moves bytes through an open port: straight on the
 * non-blocking descriptor when the event loop reports it ready (Unix), or through the
 * serialport binding's read/write calls (Windows; also a reference path on Unix).
 */
import { readSync, writeSync } from 'node:fs';
import type { BindingPortInterface } from '@serialport/bindings-cpp';
import { TransportClosedError, TransportError } from './transport.ts';

/** Where an engine delivers what it reads, and reports the end of the line. */
export interface PortSink {
  /**
   * `bytes` is a view of the engine's read buffer, valid only during the call and wiped
   * after it (read-backs carry key material): a sink that keeps bytes copies them.
   */
  data(bytes: Uint8Array): void;
  closed(reason: string): void;
}

export interface PortEngine {
  /** Resolves once the OS has taken every byte. */
  write(bytes: Uint8Array): Promise<void>;
  /** Stops reading and fails pending writes; the caller closes the port itself. */
  stop(reason: string): void;
}

/** The readiness poller serialport's Unix bindings keep for each open descriptor. */
export interface FdPoller {
  on(event: 'readable' | 'writable', listener: (err: Error | null) => void): unknown;
  poll(flags: number): void;
}

const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UNPLUGGED = 'port closed (device unplugged or closed)';

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function isWouldBlock(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
}

/** EIO: the other end of a PTY went away; ENXIO, ENODEV, EBADF: the USB adapter did. */
function isGone(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'EIO' || code === 'ENXIO' || code === 'ENODEV' || code === 'EBADF';
}

interface PendingWrite {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Reads and writes the port's non-blocking descriptor on the event loop, only when the
 * poller says it is ready: a byte that arrives is in the receive queue one epoll wake-up
 * later, and a write is one system call. The descriptor is the binding's (opened
 * O_NONBLOCK), so neither call can block the loop.
 */
export class PolledFdEngine implements PortEngine {
  private readonly buffer = Buffer.alloc(4096);
  private pending: PendingWrite[] = [];
  private stopped = false;

  constructor(
    private readonly fd: number,
    private readonly poller: FdPoller,
    private readonly path: string,
    private readonly sink: PortSink,
  ) {
    poller.on('readable', (err) => this.onReadable(err));
    poller.on('writable', (err) => this.onWritable(err));
    this.arm();
  }

  /**
   * The native poller re-arms itself with every event it was ever asked for, minus the
   * one that fired; asking again here after every wake-up keeps exactly the wanted set.
   */
  private arm(): void {
    if (this.stopped) return;
    this.poller.poll(UV_READABLE | (this.pending.length > 0 ? UV_WRITABLE : 0));
  }

  private onReadable(err: Error | null): void {
    if (this.stopped) return;
    if (err) return this.fail(`port error (${err.message})`);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
      } catch (e) {
        if (isWouldBlock(e)) break;
        return this.fail(isGone(e) ? UNPLUGGED : `read failed (${errnoCode(e)})`);
      }
      // A non-blocking tty with VMIN=1 answers EAGAIN when empty: 0 is end of file, a hang-up.
      if (n === 0) return this.fail(UNPLUGGED);
      this.sink.data(this.buffer.subarray(0, n));
      this.buffer.fill(0, 0, n);
      if (n < this.buffer.length) break;
    }
    this.arm();
  }

  /** Writes what it can now; returns how many bytes the OS took. */
  private writeSome(bytes: Uint8Array): number {
    try {
      return writeSync(this.fd, bytes);
    } catch (e) {
      if (isWouldBlock(e)) return 0;
      if (isGone(e)) {
        this.fail(UNPLUGGED);
        throw new TransportClosedError(this.path, UNPLUGGED);
      }
      throw new TransportError(
        'write-failed',
        this.path,
        `${this.path}: write failed (${errnoCode(e) ?? String(e)})`,
      );
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.stopped) return Promise.reject(new TransportClosedError(this.path));
    let rest = bytes;
    if (this.pending.length === 0) {
      try {
        rest = bytes.subarray(this.writeSome(bytes));
      } catch (e) {
        return Promise.reject(e as Error);
      }
      if (rest.length === 0) return Promise.resolve();
    }
    // The OS buffer is full (or earlier writes wait): finish when the port drains.
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes: rest, resolve, reject });
      this.arm();
    });
  }

  private onWritable(err: Error | null): void {
    if (this.stopped) return;
    if (err) return this.fail(`port error (${err.message})`);
    while (this.pending.length > 0) {
      const head = this.pending[0];
      let n: number;
      try {
        n = this.writeSome(head.bytes);
      } catch (e) {
        for (const w of this.pending.splice(0)) w.reject(e as Error);
        break;
      }
      if (n < head.bytes.length) {
        head.bytes = head.bytes.subarray(n);
        break;
      }
      this.pending.shift();
      head.resolve();
    }
    this.arm();
  }

  private fail(reason: string): void {
    this.stop(reason);
    this.sink.closed(reason);
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.pending.splice(0)) w.reject(new TransportClosedError(this.path, reason));
  }
}

/**
 * Keeps one binding read outstanding at a time and hands writes to the binding. Each call
 * is a thread-pool round trip: correct everywhere, slower per exchange than polling.
 */
export class StreamingBindingEngine implements PortEngine {
  private stopped = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: BindingPortInterface,
    private readonly path: string,
    private readonly sink: PortSink,
  ) {
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    const buffer = Buffer.alloc(4096);
    while (!this.stopped) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.port.read(buffer, 0, buffer.length));
      } catch (e) {
        if (this.stopped) return;
        this.stopped = true;
        const canceled = (e as { canceled?: boolean }).canceled === true;
        this.sink.closed(
          canceled || (e as { disconnect?: boolean }).disconnect ? UNPLUGGED : 'port error',
        );
        return;
      }
      if (this.stopped) return;
      if (bytesRead > 0) {
        this.sink.data(buffer.subarray(0, bytesRead));
        buffer.fill(0, 0, bytesRead);
      }
    }
  }

  /**
   * The binding writes in pieces when the OS buffer fills; a second write started then
   * would land in the middle of the first. Writes therefore go one after another.
   */
  write(bytes: Uint8Array): Promise<void> {
    const done = this.writing.then(() => this.writeNow(bytes));
    this.writing = done.catch(() => {});
    return done;
  }

  private async writeNow(bytes: Uint8Array): Promise<void> {
    if (this.stopped) throw new TransportClosedError(this.path);
    try {
      await this.port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new TransportError(
        'write-failed',
        this.path,
        `${this.path}: write failed (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
