/**
 * STM32 ROM bootloader client over USART, written from AN3155 as summarised in
 * /work/shared/protocols.md. It shares no code with the simulator on purpose.
 *
 * Every exchange is lock-step (send, wait for ACK) with its own timeout. A NACK or a
 * garbled acknowledgement re-sends the whole command a bounded number of times; a
 * silent line is not retried and surfaces as a BootloaderError naming the step and
 * address. Open the transport 8E1 on a real UART, 8N1 against a PTY simulator.
 */
import type { Transport } from '../transport/transport.ts';
import {
  CMD,
  MAX_CHUNK,
  NACK,
  addressFrame,
  commandFrame,
  eraseFrame,
  readCountFrame,
  wireTimeMs,
  writeDataFrame,
} from './an3155.ts';
import {
  BootloaderLink,
  GarbledAnswer,
  Nacked,
  inFlightStage,
  type BootloaderClientOptions,
  type BootloaderTimeouts,
  type FramesOutcome,
  type StageFrame,
} from './bootloader-link.ts';
import { ReadoutProtectedError, hex32, hexBytes } from './errors.ts';

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

/** AN3155 client on one Transport. Not re-entrant: one exchange at a time per port. */
export class BootloaderClient {
  private readonly link: BootloaderLink;
  private info: BootloaderInfo | undefined;
  private protectedByUs = false;

  constructor(
    readonly transport: Transport,
    opts: BootloaderClientOptions = {},
  ) {
    this.link = new BootloaderLink(transport, opts);
  }

  get port(): string {
    return this.transport.path;
  }

  get timeouts(): BootloaderTimeouts {
    return this.link.timeouts;
  }

  /** True once this client has set read-out protection; reads are then refused at once. */
  get readoutProtected(): boolean {
    return this.protectedByUs;
  }

  /** Closes the transport (idempotent). */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /** 0x7F handshake with bounded back-off; every retry goes to the log. */
  sync(): Promise<void> {
    return this.link.sync();
  }

  /** Get (0x00): protocol version and the supported command list (cached for erase). */
  async get(): Promise<BootloaderInfo> {
    const link = this.link;
    const info = await link.exchange('get', undefined, async () => {
      const rest = await link.countedAnswer(CMD.get);
      return { version: rest[0], commands: Array.from(rest.subarray(1)) };
    });
    this.info = info;
    return info;
  }

  /** Get Version (0x01): version and the two option bytes the UART bootloader sends. */
  async getVersion(): Promise<BootloaderVersion> {
    const link = this.link;
    return link.exchange('get-version', undefined, async () => {
      await link.sendCommand(CMD.getVersion);
      const [version, option1, option2] = await link.readBytes(3);
      await link.expectAck('data');
      return { version, option1, option2 };
    });
  }

  /** Get ID (0x02): the product ID (PID). */
  async getId(): Promise<number> {
    const link = this.link;
    return link.exchange('get-id', undefined, async () => {
      const pid = await link.countedAnswer(CMD.getId);
      // Some bootloaders send more than two bytes; the PID is the last two.
      return (pid[pid.length - 2] << 8) | pid[pid.length - 1];
    });
  }

  private readoutRefused(address: number, why: string): ReadoutProtectedError {
    return new ReadoutProtectedError({
      port: this.port,
      step: 'read',
      address,
      detail: `read refused (${why}): read-out protection is active`,
      deviceAnswered: why.startsWith('not sent') ? 'nothing' : hexBytes(Uint8Array.of(NACK)),
    });
  }

  /**
   * Read Memory (0x11) of 1…256 bytes. A NACK to the command byte is read-out protection
   * (AN3155) and throws ReadoutProtectedError at once, without retrying.
   */
  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > MAX_CHUNK)
      throw new RangeError(`read length ${length} outside 1…${MAX_CHUNK}`);
    if (this.protectedByUs)
      throw this.readoutRefused(address, 'not sent: this session set read-out protection');
    return this.readChunk(address, length);
  }

  /** The three stages of one Read Memory, the data taken with the count's ACK. */
  private readStages(address: number, length: number): StageFrame[] {
    return [
      { frame: commandFrame(CMD.readMemory), stage: 'command' },
      { frame: addressFrame(address), stage: 'address' },
      {
        frame: readCountFrame(length),
        stage: 'count',
        dataBytes: length,
        timeoutMs: this.link.timeouts.ackMs + wireTimeMs(length),
      },
    ];
  }

  /** One Read Memory with retries; `firstFailure` when a batch already tried it once. */
  private readChunk(
    address: number,
    length: number,
    firstFailure?: Nacked | GarbledAnswer,
  ): Promise<Uint8Array> {
    const link = this.link;
    return link.exchange(
      'read',
      address,
      async () => {
        link.transport.discardInput();
        const stages = this.readStages(address, length);
        let answer: Uint8Array | undefined;
        const { failure } = await link.sendFrames(stages, (i, a) => {
          if (i === 2) answer = a;
        });
        if (failure) throw failure;
        const data = answer!.slice(1);
        answer!.fill(0);
        return data;
      },
      {
        firstFailure,
        refuseNack: (n) =>
          n.stage === 'command' ? this.readoutRefused(address, 'NACK to the command') : undefined,
      },
    );
  }

  /**
   * One three-stage command per chunk (Read or Write Memory), all sent back to back (see
   * BootloaderLink.sendFrames). `answered` gets each chunk's last answer as it comes. A
   * chunk that is NACKed or garbled goes through `retry`, the careful per-chunk path, with
   * that failure as its first attempt; then the batch carries on after it. The frames are
   * wiped afterwards: write frames hold the blob.
   */
  private async inBatches(
    step: 'read' | 'write',
    addresses: readonly number[],
    stagesFor: (chunk: number) => StageFrame[],
    answered: (chunk: number, answer: Uint8Array) => void,
    retry: (chunk: number, failure: Nacked | GarbledAnswer) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    while (next < addresses.length) {
      const first = next;
      const stages = addresses.slice(first).flatMap((_, j) => stagesFor(first + j));
      this.link.transport.discardInput();
      let outcome: FramesOutcome;
      try {
        outcome = await this.link.sendFrames(stages, (i, answer) => {
          if (i % 3 === 2) answered(first + (i - 2) / 3, answer);
        });
      } catch (e) {
        throw this.link.wrap(e, step, addresses[first + Math.floor(inFlightStage(e) / 3)]);
      } finally {
        for (const s of stages) s.frame.fill(0);
      }
      next = first + Math.floor(outcome.acked / 3);
      if (outcome.failure) {
        await retry(next, outcome.failure);
        next++;
      }
    }
  }

  /**
   * Reads any length as consecutive 256-byte Read Memory commands, sent back to back (each
   * stage as soon as the previous one is ACKed). A chunk that is NACKed or garbled goes
   * through readMemory's retries, then the batch carries on after it.
   */
  async readRange(
    address: number,
    length: number,
    onChunk?: (done: number) => void,
  ): Promise<Uint8Array> {
    if (this.protectedByUs)
      throw this.readoutRefused(address, 'not sent: this session set read-out protection');
    const out = new Uint8Array(length);
    const chunks: { offset: number; length: number }[] = [];
    for (let off = 0; off < length; off += MAX_CHUNK)
      chunks.push({ offset: off, length: Math.min(MAX_CHUNK, length - off) });
    const place = (c: { offset: number; length: number }, data: Uint8Array) => {
      out.set(data, c.offset);
      data.fill(0);
      onChunk?.(c.offset + c.length);
    };
    try {
      const at = chunks.map((c) => address + c.offset);
      await this.inBatches(
        'read',
        at,
        (k) => this.readStages(at[k], chunks[k].length),
        (k, answer) => {
          place(chunks[k], answer.subarray(1));
          answer.fill(0);
        },
        async (k, failure) =>
          place(chunks[k], await this.readChunk(at[k], chunks[k].length, failure)),
      );
    } catch (e) {
      // What was read so far may be key material.
      out.fill(0);
      throw e;
    }
    return out;
  }

  /**
   * Asks the device once (no retries, ignoring this session's own flag) whether it
   * refuses Read Memory. True when the command is NACKed, as AN3155 specifies under
   * read-out protection; false when it serves the read (the 4 bytes read are wiped).
   */
  async probeReadoutProtection(address: number): Promise<boolean> {
    const link = this.link;
    let outcome: FramesOutcome;
    try {
      link.transport.discardInput();
      outcome = await link.sendFrames(this.readStages(address, 4), (i, answer) => {
        if (i === 2) answer.fill(0);
      });
    } catch (e) {
      throw link.wrap(e, 'read', address);
    }
    const f = outcome.failure;
    if (!f) return false;
    if (f instanceof Nacked && f.stage === 'command') return true;
    if (f instanceof Nacked)
      throw link.fail(
        'read',
        `NACK at the ${f.stage} stage while checking read-out protection`,
        Uint8Array.of(NACK),
        address,
      );
    throw link.fail(
      'read',
      'garbled answer while checking read-out protection',
      f.answered,
      address,
    );
  }

  /**
   * Write Memory (0x31) of one chunk: address 4-byte aligned, length a multiple of 4 and
   * at most 256 (writeRange pads). When the answer to the data is a NACK or garbled, the
   * chunk is read back before re-sending: if it already landed the write is done, if the
   * target is still erased it is re-sent, otherwise the write fails rather than program
   * over partly written flash.
   */
  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    if (address % 4 !== 0)
      throw new RangeError(`write address ${hex32(address)} is not 4-byte aligned`);
    if (data.length < 4 || data.length > MAX_CHUNK || data.length % 4 !== 0)
      throw new RangeError(`write length ${data.length} must be a multiple of 4 in 4…${MAX_CHUNK}`);
    return this.writeChunk(address, data);
  }

  /** The three stages of one Write Memory; the data frame holds `data` (wipe it after). */
  private writeStages(address: number, data: Uint8Array): StageFrame[] {
    const frame = writeDataFrame(data);
    return [
      { frame: commandFrame(CMD.writeMemory), stage: 'command' },
      { frame: addressFrame(address), stage: 'address' },
      { frame, stage: 'data', timeoutMs: this.link.timeouts.ackMs + wireTimeMs(frame.length) },
    ];
  }

  /** One Write Memory with retries; `firstFailure` when a batch already tried it once. */
  private async writeChunk(
    address: number,
    data: Uint8Array,
    firstFailure?: Nacked | GarbledAnswer,
  ): Promise<void> {
    const link = this.link;
    let dataStageReached = firstFailure?.stage === 'data';
    const settleByReading = async (): Promise<{ done: undefined } | undefined> => {
      if (!dataStageReached) return undefined;
      const now = await this.readMemory(address, data.length);
      try {
        if (now.every((b, i) => b === data[i])) {
          link.log({
            level: 'info',
            step: 'write',
            message: `chunk at ${hex32(address)} was written despite the bad answer`,
          });
          return { done: undefined };
        }
        if (now.every((b) => b === 0xff)) return undefined;
        throw link.fail(
          'write',
          'target is partly programmed after a failed write; refusing to write over it',
          Uint8Array.of(NACK),
          address,
        );
      } finally {
        now.fill(0);
      }
    };
    await link.exchange(
      'write',
      address,
      async () => {
        link.transport.discardInput();
        const stages = this.writeStages(address, data);
        try {
          await link.sendStages(stages);
        } catch (e) {
          // Only an answer to the data itself leaves the chunk in doubt.
          dataStageReached =
            (e instanceof Nacked || e instanceof GarbledAnswer) && e.stage === 'data';
          throw e;
        } finally {
          stages[2].frame.fill(0);
        }
      },
      { beforeRetry: settleByReading, firstFailure },
    );
  }

  /**
   * Writes any length from an aligned address in 256-byte chunks, padding the tail with
   * 0xFF to a multiple of `granularity` (4, or the family's flash word).
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
    if (address % 4 !== 0 || padded.length % 4 !== 0)
      throw new RangeError(`writes go in whole 4-byte words (granularity ${granularity})`);
    padded.set(data);
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < padded.length; off += MAX_CHUNK)
      chunks.push(padded.subarray(off, Math.min(off + MAX_CHUNK, padded.length)));
    const done = (k: number) => onChunk?.(Math.min(k * MAX_CHUNK + chunks[k].length, data.length));
    try {
      const at = chunks.map((_, k) => address + k * MAX_CHUNK);
      await this.inBatches(
        'write',
        at,
        (k) => this.writeStages(at[k], chunks[k]),
        (k) => done(k),
        async (k, failure) => {
          await this.writeChunk(at[k], chunks[k], failure);
          done(k);
        },
      );
    } finally {
      padded.fill(0);
    }
  }

  /**
   * Erases exactly the listed pages/sectors, with Extended Erase (0x44) when the Get list
   * has it, else Erase (0x43). Never a mass erase. Waits `erasePerPageMs` per unit.
   */
  async erasePages(pages: readonly number[]): Promise<void> {
    if (pages.length === 0) return;
    const link = this.link;
    const info = this.info ?? (await this.get());
    const extended = info.commands.includes(CMD.extendedErase);
    if (!extended && !info.commands.includes(CMD.erase))
      throw link.fail(
        'erase',
        'bootloader lists neither Erase (0x43) nor Extended Erase (0x44)',
        hexBytes(Uint8Array.from(info.commands)),
      );
    const body = eraseFrame(pages, extended);
    await link.exchange('erase', undefined, async () => {
      link.transport.discardInput();
      await link.sendStages([
        { frame: commandFrame(extended ? CMD.extendedErase : CMD.erase), stage: 'command' },
        { frame: body, stage: 'data', timeoutMs: link.timeouts.erasePerPageMs * pages.length },
      ]);
    });
  }

  /**
   * Readout Protect (0x82): two ACKs, then the chip resets with RDP level 1. Re-syncs
   * after the reset. From then on this session refuses reads without sending them.
   */
  async readoutProtect(): Promise<void> {
    const link = this.link;
    // The second ACK comes as the option bytes are programmed, just before the reset. If
    // it arrives garbled the outcome is unknown and the chip is rebooting (no realign is
    // possible): re-sync and ask the device instead.
    const outcome = await link.exchange('readout-protect', undefined, async () => {
      await link.sendCommand(CMD.readoutProtect);
      try {
        await link.expectAck('data', link.timeouts.protectMs);
        return 'acknowledged' as const;
      } catch (e) {
        if (e instanceof GarbledAnswer) return 'unclear' as const;
        throw e;
      }
    });
    this.info = undefined;
    await link.pause(Math.min(50, link.timeouts.ackMs));
    await link.sync();
    if (outcome === 'unclear' && !(await this.probeReadoutProtection(0x0800_0000)))
      throw link.fail(
        'readout-protect',
        'second acknowledgement was garbled and the device still serves reads',
        'garbled',
      );
    this.protectedByUs = true;
    link.log({
      level: 'info',
      step: 'readout-protect',
      message: 'read-out protection set (level 1); device reset and re-synchronised',
    });
  }
}
