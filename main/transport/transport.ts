/**
 * The byte pipe every driver talks through. A real UART (serialport) and a simulator's
 * PTY both implement it, so drivers are tested exactly the way they run.
 *
 * Reads are pull-based with a mandatory timeout: no driver can wait forever.
 */
export interface Transport {
  /** Human-readable name for errors and logs (the port path). */
  readonly path: string;
  readonly isOpen: boolean;
  /**
   * Resolves once the OS has accepted every byte (the write returned). It does not wait for
   * them to leave the UART: each protocol's answer proves delivery, and a drain per write
   * would cost a thread-pool round trip on every command.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Resolves with between 1 and `max` bytes as soon as any are available.
   * Rejects with TransportTimeoutError after `timeoutMs`, TransportClosedError when the
   * port goes away, or the signal's reason when aborted.
   */
  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Reads exactly `n` bytes or rejects (timeout covers the whole read). */
  readExact(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Lock-step frames: writes `frames[0]`, waits for its `answerBytes`-byte answer and, while
   * `proceed(answer, index)` holds, writes the next frame from inside that read, with no
   * event-loop turn between an answer and the next frame. Resolves with the answers
   * received, one per frame sent: fewer than `frames.length` when `proceed` stopped early.
   * Each answer has its own timeout (`timeoutsMs[index]`); rejects as read() does.
   */
  lockstep(frames: readonly Uint8Array[], opts: LockstepOptions): Promise<Uint8Array[]>;
  /** Drops everything buffered so far; returns how many bytes were dropped. */
  discardInput(): number;
  close(): Promise<void>;
}

export interface LockstepOptions {
  /** Bytes of every answer, or for an answer `more` extends, of its first part. */
  answerBytes: number;
  /**
   * How many more bytes belong to frame `index`'s answer, given the answer so far; asked
   * again each time those have come, until it says 0 (e.g. a length byte, then the data
   * and a final ACK). Absent: answers are `answerBytes` long.
   */
  more?: (soFar: Uint8Array, index: number) => number;
  timeoutsMs: readonly number[];
  proceed: (answer: Uint8Array, index: number) => boolean;
  /**
   * Hears every answer, inside the read, after the next frame (if any) is written: the
   * place for per-answer work that must not delay the next frame. A throw ends the run
   * with that error.
   */
  answered?: (answer: Uint8Array, index: number) => void;
  signal?: AbortSignal;
}

export type Parity = 'none' | 'even';

export interface SerialOptions {
  path: string;
  baudRate: number;
  /** 8E1 on a real STM32 UART; 'none' against PTY simulators (the kernel refuses PARENB). */
  parity: Parity;
}

export class TransportError extends Error {
  constructor(
    readonly code: 'timeout' | 'closed' | 'open-failed' | 'write-failed' | 'overflow',
    readonly port: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export class TransportTimeoutError extends TransportError {
  constructor(
    port: string,
    timeoutMs: number,
    readonly received: number = 0,
  ) {
    super('timeout', port, `${port}: no answer within ${timeoutMs} ms`);
    this.name = 'TransportTimeoutError';
  }
}

export class TransportClosedError extends TransportError {
  constructor(port: string, detail = 'port closed') {
    super('closed', port, `${port}: ${detail}`);
    this.name = 'TransportClosedError';
  }
}
