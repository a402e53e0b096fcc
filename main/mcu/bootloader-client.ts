/**
 * STM32 ROM bootloader client over USART, written from AN3155 as summarised in
 * /work/shared/protocols.md. It shares no code with the simulator on purpose.
 *
 * Every exchange is lock-step (send, wait for ACK) with its own timeout. A NACK or a
 * garbled acknowledgement re-sends the whole command a bounded number of times; a
 * silent line is not retried (a stalled device stays stalled) and surfaces as a
 * BootloaderError naming the step and address.
 */
import {
  TransportClosedError,
  TransportTimeoutError,
  type Transport,
} from '../transport/transport.ts';
import {
  BootloaderError,
  ReadoutProtectedError,
  hex32,
  hexBytes,
  type BootloaderStep,
} from './errors.ts';

export const ACK = 0x79;
export const NACK = 0x1f;
const SYNC = 0x7f;

export const CMD = {
  get: 0x00,
  getVersion: 0x01,
  getId: 0x02,
  readMemory: 0x11,
  go: 0x21,
  writeMemory: 0x31,
  erase: 0x43,
  extendedErase: 0x44,
  readoutProtect: 0x82,
  readoutUnprotect: 0x92,
} as const;

/** Largest Read/Write Memory payload (AN3155). */
export const MAX_CHUNK = 256;

export interface BootloaderTimeouts {
  /** Wait for one ACK/NACK or a short reply (ms). */
  ackMs: number;
  /** Wait for the answer to each 0x7F during sync (ms). */
  syncMs: number;
  /** Wait for the final ACK after erasing one page or sector (ms, per unit). */
  erasePerPageMs: number;
  /** Wait for the second ACK of Readout Protect (option bytes are being programmed). */
  protectMs: number;
}

export const DEFAULT_TIMEOUTS: BootloaderTimeouts = {
  ackMs: 1000,
  syncMs: 500,
  erasePerPageMs: 10_000,
  protectMs: 5000,
};

/** One line for the slot's log; the bootloader client never logs payload bytes. */
export interface BootloaderLogEntry {
  level: 'info' | 'warn';
  step: BootloaderStep;
  message: string;
}

export interface BootloaderClientOptions {
  timeouts?: Partial<BootloaderTimeouts>;
  /** Extra attempts for a NACKed or garbled command (default 3). */
  retries?: number;
  /** 0x7F attempts before giving up on sync (default 5), with doubling back-off. */
  syncAttempts?: number;
  /** First back-off between sync attempts, doubled each time (default 50 ms). */
  syncBackoffMs?: number;
  onLog?: (entry: BootloaderLogEntry) => void;
  signal?: AbortSignal;
}

export interface BootloaderInfo {
  /** Protocol version byte, e.g. 0x31 for v3.1. */
  version: number;
  /** Command codes the bootloader lists in its Get answer. */
  commands: number[];
}

export interface BootloaderVersion {
  version: number;
  option1: number;
  option2: number;
}

/** The device answered something other than ACK or NACK where one was due. */
class GarbledAnswer extends Error {
  constructor(readonly answered: Uint8Array) {
    super('garbled answer');
  }
}

/** The device NACKed a stage; `stage` says which (for the refusal rules and errors). */
class Nacked extends Error {
  constructor(readonly stage: 'command' | 'address' | 'count' | 'data') {
    super(`NACK at ${stage}`);
  }
}

/** Formats a version byte 0xXY as "X.Y", as stm32flash and ST print it. */
export function formatBootloaderVersion(v: number): string {
  return `${v >> 4}.${v & 0x0f}`;
}

function xorOf(bytes: Uint8Array, seed = 0): number {
  let x = seed;
  for (const b of bytes) x ^= b;
  return x;
}

function addressFrame(address: number): Uint8Array {
  const a = new Uint8Array(5);
  new DataView(a.buffer).setUint32(0, address >>> 0, false);
  a[4] = xorOf(a.subarray(0, 4));
  return a;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** AN3155 client on one Transport. Not re-entrant: one exchange at a time per port. */
export class BootloaderClient {
  readonly timeouts: BootloaderTimeouts;
  private readonly retries: number;
  private readonly syncAttempts: number;
  private readonly syncBackoffMs: number;
  private readonly onLog: (entry: BootloaderLogEntry) => void;
  private readonly signal: AbortSignal | undefined;
  private info: BootloaderInfo | undefined;
  private protectedByUs = false;

  constructor(
    readonly transport: Transport,
    opts: BootloaderClientOptions = {},
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.retries = opts.retries ?? 3;
    this.syncAttempts = opts.syncAttempts ?? 5;
    this.syncBackoffMs = opts.syncBackoffMs ?? 50;
    this.onLog = opts.onLog ?? (() => {});
    this.signal = opts.signal;
  }

  get port(): string {
    return this.transport.path;
  }

  /** True once this client has set read-out protection; reads are then refused at once. */
  get readoutProtected(): boolean {
    return this.protectedByUs;
  }

  /** Closes the transport (idempotent). */
  async close(): Promise<void> {
    await this.transport.close();
  }

  // ---- link layer --------------------------------------------------------------------

  private fail(
    step: BootloaderStep,
    detail: string,
    answered: Uint8Array | string,
    address?: number,
  ): BootloaderError {
    const deviceAnswered = typeof answered === 'string' ? answered : hexBytes(answered);
    return new BootloaderError({ port: this.port, step, address, detail, deviceAnswered });
  }

  /** Turns transport failures into BootloaderErrors for `step`; passes others through. */
  private wrap(e: unknown, step: BootloaderStep, address?: number): unknown {
    if (e instanceof TransportTimeoutError)
      return this.fail(
        step,
        e.message.replace(`${this.port}: `, ''),
        e.received ? `${e.received} partial bytes` : 'nothing',
        address,
      );
    if (e instanceof TransportClosedError)
      return this.fail(step, 'port closed during the exchange', 'nothing', address);
    return e;
  }

  private async send(bytes: Uint8Array): Promise<void> {
    await this.transport.write(bytes);
  }

  private async readBytes(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.transport.readExact(n, timeoutMs, this.signal);
  }

  /** Reads one acknowledgement: resolves on ACK, throws Nacked or GarbledAnswer otherwise. */
  private async expectAck(stage: Nacked['stage'], timeoutMs = this.timeouts.ackMs): Promise<void> {
    const [b] = await this.readBytes(1, timeoutMs);
    if (b === ACK) return;
    if (b === NACK) throw new Nacked(stage);
    throw new GarbledAnswer(Uint8Array.of(b));
  }

  /**
   * Sends a stage and reads its acknowledgement. The ACK itself proves the bytes arrived,
   * so the OS drain confirmation is not waited for: it would add a thread-pool round trip
   * to each of the ~60 stages of a credential write. A failed write is still reported
   * (in place of the timeout it causes).
   */
  private async sendExpectAck(
    bytes: Uint8Array,
    stage: Nacked['stage'],
    timeoutMs = this.timeouts.ackMs,
  ): Promise<void> {
    let sendError: unknown;
    this.send(bytes).catch((e: unknown) => {
      sendError = e;
    });
    try {
      await this.expectAck(stage, timeoutMs);
    } catch (e) {
      throw sendError ?? e;
    }
  }

  private async sendCommand(cmd: number): Promise<void> {
    this.transport.discardInput();
    await this.sendExpectAck(Uint8Array.of(cmd, cmd ^ 0xff), 'command');
  }

  /**
   * Runs one whole command with bounded re-sends. NACKs and garbled answers are retried
   * (after re-aligning with the device); silence and closed ports are not.
   */
  private async exchange<T>(
    step: BootloaderStep,
    address: number | undefined,
    body: () => Promise<T>,
    opts: {
      refuseNack?: (n: Nacked) => BootloaderError | undefined;
      beforeRetry?: () => Promise<{ done: T } | undefined>;
    } = {},
  ): Promise<T> {
    let last: Nacked | GarbledAnswer | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const why =
          last instanceof Nacked
            ? `NACK at ${last.stage}`
            : `garbled answer ${hexBytes(last?.answered ?? new Uint8Array())}`;
        this.onLog({
          level: 'warn',
          step,
          message: `${why}${address === undefined ? '' : ` at ${hex32(address)}`}; re-sending (attempt ${attempt + 1} of ${this.retries + 1})`,
        });
        // A garbled answer leaves the device mid-command; a NACKed command pair can mean
        // the device is one byte out of step (e.g. a late answer from a timed-out step).
        if (last instanceof GarbledAnswer || (last instanceof Nacked && last.stage === 'command'))
          await this.realign(step);
        if (opts.beforeRetry) {
          const settled = await opts.beforeRetry();
          if (settled) return settled.done;
        }
      }
      try {
        return await body();
      } catch (e) {
        if (e instanceof Nacked) {
          const refusal = opts.refuseNack?.(e);
          if (refusal) throw refusal;
          last = e;
          continue;
        }
        if (e instanceof GarbledAnswer) {
          last = e;
          continue;
        }
        throw this.wrap(e, step, address);
      }
    }
    if (last instanceof Nacked)
      throw this.fail(
        step,
        `NACK at the ${last.stage} stage after ${this.retries + 1} attempts`,
        Uint8Array.of(NACK),
        address,
      );
    throw this.fail(
      step,
      `no valid acknowledgement after ${this.retries + 1} attempts`,
      last?.answered ?? 'nothing',
      address,
    );
  }

  /**
   * Brings a device whose state is unknown (it answered garbage mid-command) back to
   * waiting for a command. Feeds 0x02 filler bytes: whatever stage the device is in
   * (command pair, address, count, write data, page list) the filler fails its checksum
   * or complement check, so the device NACKs without touching memory; then one or two
   * more filler bytes realign on a command boundary.
   */
  private async realign(step: BootloaderStep): Promise<void> {
    const filler = 0x02;
    const settleMs = Math.min(100, this.timeouts.ackMs);
    await sleep(settleMs, this.signal);
    this.transport.discardInput();
    let sawNack = false;
    // Worst case is an Extended Erase count of 0x0202: 1 + 2 × 515 bytes before the checksum.
    for (let sent = 0; sent < 1100 && !sawNack; sent += 16) {
      await this.send(new Uint8Array(16).fill(filler));
      try {
        const got = await this.transport.read(64, 30, this.signal);
        sawNack = got.includes(NACK);
      } catch (e) {
        if (!(e instanceof TransportTimeoutError)) throw this.wrap(e, 'recover');
      }
    }
    if (!sawNack)
      throw this.fail(
        'recover',
        'device did not return to command state after a garbled answer',
        'nothing',
      );
    await sleep(settleMs, this.signal);
    this.transport.discardInput();
    // The device may hold one filler byte as a half command: one more byte either
    // completes that pair (NACK) or starts a new one (silence, then a second byte NACKs).
    await this.send(Uint8Array.of(filler));
    try {
      await this.expectAck('command', settleMs);
    } catch (e) {
      if (e instanceof TransportTimeoutError) {
        await this.send(Uint8Array.of(filler));
        try {
          await this.expectAck('command', this.timeouts.ackMs);
        } catch (e2) {
          if (!(e2 instanceof Nacked)) throw this.wrap(e2, 'recover');
        }
      } else if (!(e instanceof Nacked)) throw this.wrap(e, 'recover');
    }
    this.transport.discardInput();
    this.onLog({
      level: 'info',
      step,
      message: 'device back at command state after a garbled answer',
    });
  }

  // ---- commands ----------------------------------------------------------------------

  /**
   * 0x7F autobaud handshake with bounded, doubling back-off. Each retry goes to the log
   * (sync is the flakiest step on real lines). A NACK means the bootloader was already
   * synchronised and took the 0x7F as half a command.
   */
  async sync(): Promise<void> {
    let backoff = this.syncBackoffMs;
    let lastAnswer: Uint8Array = new Uint8Array();
    for (let attempt = 1; attempt <= this.syncAttempts; attempt++) {
      this.transport.discardInput();
      try {
        for (let probe = 0; probe < 2; probe++) {
          await this.send(Uint8Array.of(SYNC));
          let b: number;
          try {
            [b] = await this.readBytes(1, this.timeouts.syncMs);
          } catch (e) {
            if (e instanceof TransportTimeoutError) continue; // second 0x7F completes a pair if already synced
            throw e;
          }
          lastAnswer = Uint8Array.of(b);
          if (b === ACK || b === NACK) {
            this.onLog({
              level: 'info',
              step: 'sync',
              message:
                b === ACK
                  ? `synchronised on attempt ${attempt}`
                  : `already synchronised (NACK to 0x7F) on attempt ${attempt}`,
            });
            return;
          }
          break; // noise on the line: back off and start over
        }
      } catch (e) {
        throw this.wrap(e, 'sync');
      }
      if (attempt < this.syncAttempts) {
        this.onLog({
          level: 'warn',
          step: 'sync',
          message: `no ACK to 0x7F (answered: ${hexBytes(lastAnswer)}); retry ${attempt} of ${this.syncAttempts - 1} in ${backoff} ms`,
        });
        await sleep(backoff, this.signal);
        backoff *= 2;
      }
    }
    throw this.fail('sync', `no ACK to 0x7F after ${this.syncAttempts} attempts`, lastAnswer);
  }

  /** Get (0x00): protocol version and the supported command list (cached). */
  async get(): Promise<BootloaderInfo> {
    const info = await this.exchange('get', undefined, async () => {
      await this.sendCommand(CMD.get);
      const [n] = await this.readBytes(1, this.timeouts.ackMs);
      const rest = await this.readBytes(n + 1, this.timeouts.ackMs);
      await this.expectAck('data');
      return { version: rest[0], commands: Array.from(rest.subarray(1)) };
    });
    this.info = info;
    return info;
  }

  /** Get Version (0x01): version and the two option bytes the UART bootloader sends. */
  async getVersion(): Promise<BootloaderVersion> {
    return this.exchange('get-version', undefined, async () => {
      await this.sendCommand(CMD.getVersion);
      const [version, option1, option2] = await this.readBytes(3, this.timeouts.ackMs);
      await this.expectAck('data');
      return { version, option1, option2 };
    });
  }

  /** Get ID (0x02): the product ID (PID). */
  async getId(): Promise<number> {
    return this.exchange('get-id', undefined, async () => {
      await this.sendCommand(CMD.getId);
      const [n] = await this.readBytes(1, this.timeouts.ackMs);
      const pid = await this.readBytes(n + 1, this.timeouts.ackMs);
      await this.expectAck('data');
      // Some bootloaders send more than two bytes; the PID is the last two.
      return (pid[pid.length - 2] << 8) | pid[pid.length - 1];
    });
  }

  private readoutRefused(address: number, stage: string): ReadoutProtectedError {
    return new ReadoutProtectedError({
      port: this.port,
      step: 'read',
      address,
      detail: `read refused (NACK at the ${stage} stage): read-out protection is active`,
      deviceAnswered: hexBytes(Uint8Array.of(NACK)),
    });
  }

  /** Read Memory (0x11) of 1…256 bytes. */
  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > MAX_CHUNK)
      throw new RangeError(`read length ${length} outside 1…${MAX_CHUNK}`);
    if (this.protectedByUs)
      throw this.readoutRefused(address, 'command (not sent: this client set read-out protection)');
    return this.exchange(
      'read',
      address,
      async () => {
        await this.sendCommand(CMD.readMemory);
        await this.sendExpectAck(addressFrame(address), 'address');
        await this.sendExpectAck(Uint8Array.of(length - 1, (length - 1) ^ 0xff), 'count');
        return this.readBytes(length, this.timeouts.ackMs + byteTimeMs(length));
      },
      {
        // AN3155: with read-out protection active the command byte itself is NACKed.
        refuseNack: (n) =>
          n.stage === 'command' ? this.readoutRefused(address, 'command') : undefined,
      },
    );
  }

  /**
   * Asks the device once (no retries, ignoring this client's own flag) whether it
   * refuses Read Memory. True when the command is NACKed, as AN3155 specifies under
   * read-out protection; false when it serves the read (the 4 bytes read are wiped).
   */
  async probeReadoutProtection(address: number): Promise<boolean> {
    try {
      this.transport.discardInput();
      await this.send(Uint8Array.of(CMD.readMemory, CMD.readMemory ^ 0xff));
      try {
        await this.expectAck('command');
      } catch (e) {
        if (e instanceof Nacked) return true;
        throw e;
      }
      await this.send(addressFrame(address));
      await this.expectAck('address');
      await this.send(Uint8Array.of(3, 3 ^ 0xff));
      await this.expectAck('count');
      (await this.readBytes(4, this.timeouts.ackMs)).fill(0);
      return false;
    } catch (e) {
      if (e instanceof Nacked) return true;
      if (e instanceof GarbledAnswer)
        throw this.fail(
          'read',
          'garbled answer while checking read-out protection',
          e.answered,
          address,
        );
      throw this.wrap(e, 'read', address);
    }
  }

  /** Reads any length as consecutive 256-byte Read Memory commands. */
  async readRange(
    address: number,
    length: number,
    onChunk?: (done: number) => void,
  ): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let off = 0; off < length; off += MAX_CHUNK) {
      const n = Math.min(MAX_CHUNK, length - off);
      out.set(await this.readMemory(address + off, n), off);
      onChunk?.(off + n);
    }
    return out;
  }

  /**
   * Write Memory (0x31) of one chunk: address 4-byte aligned, length a multiple of 4 and
   * at most 256 (callers pad with 0xFF; see writeRange). When an answer to the data is
   * NACKed or garbled the chunk is read back before re-sending: if it already landed the
   * write is done, if the target is still erased it is re-sent, otherwise it fails.
   */
  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    if (address % 4 !== 0)
      throw new RangeError(`write address ${hex32(address)} is not 4-byte aligned`);
    if (data.length < 4 || data.length > MAX_CHUNK || data.length % 4 !== 0)
      throw new RangeError(`write length ${data.length} must be a multiple of 4 in 4…${MAX_CHUNK}`);
    const frame = new Uint8Array(data.length + 2);
    frame[0] = data.length - 1;
    frame.set(data, 1);
    frame[frame.length - 1] = xorOf(data, data.length - 1);
    let dataStageReached = false;
    try {
      await this.exchange(
        'write',
        address,
        async () => {
          dataStageReached = false;
          await this.sendCommand(CMD.writeMemory);
          await this.sendExpectAck(addressFrame(address), 'address');
          dataStageReached = true;
          await this.sendExpectAck(frame, 'data', this.timeouts.ackMs + byteTimeMs(frame.length));
        },
        {
          beforeRetry: async () => {
            if (!dataStageReached) return undefined;
            const now = await this.readMemory(address, data.length);
            try {
              if (bytesEqual(now, data)) {
                this.onLog({
                  level: 'info',
                  step: 'write',
                  message: `chunk at ${hex32(address)} was written despite the bad answer`,
                });
                return { done: undefined };
              }
              if (!now.every((b) => b === 0xff))
                throw this.fail(
                  'write',
                  'target is partly programmed after a failed write; refusing to write over it',
                  Uint8Array.of(NACK),
                  address,
                );
              return undefined;
            } finally {
              now.fill(0);
            }
          },
        },
      );
    } finally {
      frame.fill(0);
    }
  }

  /**
   * Writes any length from a 4-byte-aligned address in 256-byte chunks, padding the
   * tail with 0xFF to a multiple of `granularity` (4, or the family's flash word).
   */
  async writeRange(
    address: number,
    data: Uint8Array,
    granularity = 4,
    onChunk?: (done: number) => void,
  ): Promise<void> {
    if (address % granularity !== 0)
      throw new RangeError(`write address ${hex32(address)} is not ${granularity}-byte aligned`);
    const padded = new Uint8Array(Math.ceil(data.length / granularity) * granularity).fill(0xff);
    padded.set(data);
    try {
      for (let off = 0; off < padded.length; off += MAX_CHUNK) {
        const chunk = padded.subarray(off, Math.min(off + MAX_CHUNK, padded.length));
        await this.writeMemory(address + off, chunk);
        onChunk?.(Math.min(off + chunk.length, data.length));
      }
    } finally {
      padded.fill(0);
    }
  }

  /**
   * Erases exactly the listed pages/sectors, with Extended Erase (0x44) when the Get list
   * has it, else Erase (0x43). Never issues a mass erase.
   */
  async erasePages(pages: readonly number[]): Promise<void> {
    if (pages.length === 0) return;
    const info = this.info ?? (await this.get());
    const extended = info.commands.includes(CMD.extendedErase);
    if (!extended && !info.commands.includes(CMD.erase))
      throw this.fail(
        'erase',
        'bootloader lists neither Erase (0x43) nor Extended Erase (0x44)',
        'nothing',
      );
    let body: Uint8Array;
    if (extended) {
      if (pages.length > 0xfff0) throw new RangeError('too many pages for one Extended Erase');
      body = new Uint8Array(2 + pages.length * 2 + 1);
      const view = new DataView(body.buffer);
      view.setUint16(0, pages.length - 1, false);
      pages.forEach((p, i) => view.setUint16(2 + i * 2, p, false));
    } else {
      if (pages.length > 255 || pages.some((p) => p > 0xff))
        throw new RangeError('legacy Erase takes at most 255 one-byte page numbers');
      body = new Uint8Array(1 + pages.length + 1);
      body[0] = pages.length - 1;
      body.set(pages, 1);
    }
    body[body.length - 1] = xorOf(body.subarray(0, body.length - 1));
    await this.exchange('erase', undefined, async () => {
      await this.sendCommand(extended ? CMD.extendedErase : CMD.erase);
      await this.sendExpectAck(body, 'data', this.timeouts.erasePerPageMs * pages.length);
    });
  }

  /**
   * Readout Protect (0x82): two ACKs, then the chip resets with RDP level 1. Re-syncs
   * after the reset. From then on this client refuses reads without sending them.
   */
  async readoutProtect(): Promise<void> {
    await this.exchange('readout-protect', undefined, async () => {
      await this.sendCommand(CMD.readoutProtect);
      await this.expectAck('data', this.timeouts.protectMs);
    });
    this.protectedByUs = true;
    this.info = undefined;
    this.onLog({
      level: 'info',
      step: 'readout-protect',
      message: 'read-out protection set (level 1); device resets',
    });
    await sleep(Math.min(50, this.timeouts.ackMs), this.signal);
    await this.sync();
  }
}

/** Extra wait for `n` bytes on the wire, reckoned at 9600 baud so slow lines still fit. */
function byteTimeMs(n: number): number {
  return Math.ceil((n * 10 * 1000) / 9600);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
