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
import { ReadoutProtectedError, hex32, hexBytes, type BootloaderStep } from './errors.ts';

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

/** One command of a batch run (see BootloaderClient.runBatch). */
interface BatchCommand {
  step: BootloaderStep;
  address?: number;
  /** Builds the command's frames (again for each run: sent frames are wiped). */
  stages: () => StageFrame[];
  /** Called with the answer to its last stage once that is ACKed (Read Memory: the data). */
  done?: (answer: Uint8Array) => void;
  /** The careful per-command path, with the batch's failed attempt as its first. */
  retry: (failure: Nacked | GarbledAnswer) => Promise<void>;
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

  /** Reads after this session set read-out protection are refused without being sent. */
  private refuseReadsOnceProtected(address: number): void {
    if (this.protectedByUs)
      throw this.readoutRefused(address, 'not sent: this session set read-out protection');
  }

  /**
   * Read Memory (0x11) of 1…256 bytes. A NACK to the command byte is read-out protection
   * (AN3155) and throws ReadoutProtectedError at once, without retrying.
   */
  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > MAX_CHUNK)
      throw new RangeError(`read length ${length} outside 1…${MAX_CHUNK}`);
    this.refuseReadsOnceProtected(address);
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
        stages[2].onAcked = (a) => {
          answer = a;
        };
        await link.sendStages(stages);
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
   * Sends the stages of several commands back to back as one lock-step run (see
   * BootloaderLink.sendFrames): each stage goes out as soon as the previous one is ACKed,
   * with no turn of the event loop between commands either. A command that is NACKed or
   * garbled goes through its own careful path (`retry`), with that failure as its first
   * attempt; then the run carries on after it. Every frame is wiped once sent: write
   * frames hold the blob.
   */
  private async runBatch(commands: readonly BatchCommand[]): Promise<void> {
    let next = 0;
    while (next < commands.length) {
      const batch = commands.slice(next);
      const stages: StageFrame[] = [];
      /** For each stage, the batch index of the command it belongs to. */
      const owner: number[] = [];
      for (const [j, c] of batch.entries()) {
        const own = c.stages();
        if (c.done) own[own.length - 1].onAcked = c.done;
        for (const st of own) {
          stages.push(st);
          owner.push(j);
        }
      }
      this.link.transport.discardInput();
      let outcome: FramesOutcome;
      try {
        outcome = await this.link.sendFrames(stages);
      } catch (e) {
        const c = batch[owner[Math.min(inFlightStage(e), owner.length - 1)]];
        throw this.link.wrap(e, c.step, c.address);
      } finally {
        for (const st of stages) st.frame.fill(0);
      }
      if (!outcome.failure) return;
      const failed = owner[outcome.acked];
      await batch[failed].retry(outcome.failure);
      next += failed + 1;
    }
  }

  /** Read Memory commands for `length` bytes from `address`, placed into `out`. */
  private readCommands(
    address: number,
    out: Uint8Array,
    onChunk?: (done: number) => void,
  ): BatchCommand[] {
    const commands: BatchCommand[] = [];
    for (let off = 0; off < out.length; off += MAX_CHUNK) {
      const at = address + off;
      const length = Math.min(MAX_CHUNK, out.length - off);
      const place = (data: Uint8Array) => {
        out.set(data, off);
        data.fill(0);
        onChunk?.(off + length);
      };
      commands.push({
        step: 'read',
        address: at,
        stages: () => this.readStages(at, length),
        done: (answer) => {
          place(answer.subarray(1));
          answer.fill(0);
        },
        retry: async (failure) => place(await this.readChunk(at, length, failure)),
      });
    }
    return commands;
  }

  /**
   * Write Memory commands for `padded` (whole 4-byte words) at `address`; `onChunk` gets
   * how many of the first `reported` bytes are written.
   */
  private writeCommands(
    address: number,
    padded: Uint8Array,
    reported: number,
    onChunk?: (done: number) => void,
  ): BatchCommand[] {
    const commands: BatchCommand[] = [];
    for (let off = 0; off < padded.length; off += MAX_CHUNK) {
      const at = address + off;
      const chunk = padded.subarray(off, Math.min(off + MAX_CHUNK, padded.length));
      const done = () => onChunk?.(Math.min(off + chunk.length, reported));
      commands.push({
        step: 'write',
        address: at,
        stages: () => this.writeStages(at, chunk),
        done,
        retry: async (failure) => {
          await this.writeChunk(at, chunk, failure);
          done();
        },
      });
    }
    return commands;
  }

  /** `data` padded with 0xFF to whole `granularity` units (and 4-byte words); wipe after. */
  private padForWrite(address: number, data: Uint8Array, granularity: number): Uint8Array {
    if (address % granularity !== 0)
      throw new RangeError(`write address ${hex32(address)} is not ${granularity}-byte aligned`);
    const padded = new Uint8Array(Math.ceil(data.length / granularity) * granularity).fill(0xff);
    if (address % 4 !== 0 || padded.length % 4 !== 0)
      throw new RangeError(`writes go in whole 4-byte words (granularity ${granularity})`);
    padded.set(data);
    return padded;
  }

  /**
   * Reads any length as consecutive 256-byte Read Memory commands, sent back to back (see
   * runBatch). A chunk that is NACKed or garbled goes through readMemory's retries, then
   * the batch carries on after it.
   */
  async readRange(
    address: number,
    length: number,
    onChunk?: (done: number) => void,
  ): Promise<Uint8Array> {
    this.refuseReadsOnceProtected(address);
    const out = new Uint8Array(length);
    try {
      await this.runBatch(this.readCommands(address, out, onChunk));
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
      const stages = this.readStages(address, 4);
      stages[2].onAcked = (answer) => answer.fill(0);
      outcome = await link.sendFrames(stages);
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
   * Writes any length from an aligned address in 256-byte chunks, sent back to back (see
   * runBatch), padding the tail with 0xFF to a multiple of `granularity` (4, or the
   * family's flash word).
   */
  async writeRange(
    address: number,
    data: Uint8Array,
    granularity = 4,
    onChunk?: (done: number) => void,
  ): Promise<void> {
    const padded = this.padForWrite(address, data, granularity);
    try {
      await this.runBatch(this.writeCommands(address, padded, data.length, onChunk));
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
    await this.runBatch([await this.eraseCommand(pages)]);
  }

  /**
   * Erases `pages`, writes `data` at `address` (padded as writeRange does) and reads it
   * back, all as one lock-step run: the commands follow each other as closely as the
   * stages within them. Each command keeps its own retry path. Returns the bytes read
   * back (wipe them after comparing); `onProgress` hears each command as it completes.
   */
  async eraseWriteReadBack(
    pages: readonly number[],
    address: number,
    data: Uint8Array,
    granularity: number,
    onProgress?: (phase: 'erase' | 'write' | 'verify', done: number) => void,
  ): Promise<Uint8Array> {
    this.refuseReadsOnceProtected(address);
    const erase =
      pages.length > 0
        ? [await this.eraseCommand(pages, () => onProgress?.('erase', pages.length))]
        : [];
    const padded = this.padForWrite(address, data, granularity);
    const out = new Uint8Array(data.length);
    try {
      await this.runBatch([
        ...erase,
        ...this.writeCommands(address, padded, data.length, (n) => onProgress?.('write', n)),
        ...this.readCommands(address, out, (n) => onProgress?.('verify', n)),
      ]);
    } catch (e) {
      out.fill(0);
      throw e;
    } finally {
      padded.fill(0);
    }
    return out;
  }

  /** The Erase or Extended Erase of `pages`, as the Get list allows. */
  private async eraseCommand(
    pages: readonly number[],
    onErased?: () => void,
  ): Promise<BatchCommand> {
    const link = this.link;
    const info = this.info ?? (await this.get());
    const extended = info.commands.includes(CMD.extendedErase);
    if (!extended && !info.commands.includes(CMD.erase))
      throw link.fail(
        'erase',
        'bootloader lists neither Erase (0x43) nor Extended Erase (0x44)',
        hexBytes(Uint8Array.from(info.commands)),
      );
    const stages = (): StageFrame[] => [
      { frame: commandFrame(extended ? CMD.extendedErase : CMD.erase), stage: 'command' },
      {
        frame: eraseFrame(pages, extended),
        stage: 'data',
        timeoutMs: link.timeouts.erasePerPageMs * pages.length,
      },
    ];
    return {
      step: 'erase',
      stages,
      done: onErased,
      retry: async (failure) => {
        await link.exchange(
          'erase',
          undefined,
          async () => {
            link.transport.discardInput();
            await link.sendStages(stages());
          },
          { firstFailure: failure },
        );
        onErased?.();
      },
    };
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
