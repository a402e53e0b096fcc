import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { metaPathFor } from '../stm32/flash-store.ts';
import { AtHost } from './at-host.ts';
import { readCredentialBlob } from './credential-blob-reader.ts';
import { FieldLink, type FrameAnswer } from './field-link.ts';
import { deriveSealingKey, forgetSealingKey, seal, type SealingKey } from './seal.ts';

/**
 * A model of the STM32 application firmware in the field: at boot it reads its credential
 * blob from its own flash (the simulator's flash image), checks the blob is for this chip,
 * derives the envelope key and forgets the private scalar; then it is the AT host of the
 * modem, opens the TLS session the station configured and sends sealed readings. Nothing
 * secret ever goes onto the UART: only envelopes.
 */

export interface FirmwareOptions {
  /** The MCU end of the MCU–modem UART (a tap's `mcuPort`). */
  port: string;
  baud?: number;
  /** The board's flash image (the STM32 simulator's state file; byte 0 = `flashBase`). */
  flashImage: string;
  flashBase?: number;
  /** Where the station wrote the blob (the profile's credential area). */
  credentialAddress: number;
  /** Bytes of the credential page to read. Default 4096. */
  credentialSize?: number;
  /** The counter the firmware persists (its own flash word, modelled as a file). */
  counterFile: string;
  /** TLS context the station configured on the modem. Default 1. */
  sslContext?: number;
  log?: (line: string) => void;
}

export class FirmwareError extends Error {
  override name = 'FirmwareError';
  constructor(
    readonly port: string,
    readonly step: 'boot' | 'connect' | 'send',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`firmware on ${port} ${step}: ${message}`, options);
  }
}

/** A reading the server answered. `envelope` is what went onto the bus. */
export interface SentReading {
  counter: bigint;
  envelope: Uint8Array;
  answer: FrameAnswer;
}

function readFlash(image: string, offset: number, size: number): Uint8Array {
  const fd = openSync(image, 'r');
  try {
    const out = new Uint8Array(size);
    const n = readSync(fd, out, 0, size, offset);
    return out.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function loadCounter(file: string): bigint {
  if (!existsSync(file)) return 0n;
  const text = readFileSync(file, 'utf8').trim();
  if (!/^\d{1,20}$/.test(text)) throw new Error(`counter file ${file} is corrupt`);
  return BigInt(text);
}

/** Written and synced before the envelope leaves: a counter is never used twice (GCM nonce). */
function storeCounter(file: string, value: bigint): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class McuFirmware {
  private link: FieldLink | null = null;

  private constructor(
    private readonly opts: FirmwareOptions,
    private readonly at: AtHost,
    private readonly key: SealingKey,
    /** The device ID from the blob, for logs. */
    readonly deviceId: string,
  ) {}

  /** Boots: blob → key, then opens the UART and takes the modem out of echo. */
  static async boot(opts: FirmwareOptions): Promise<McuFirmware> {
    const fail = (msg: string, cause?: unknown): never => {
      throw new FirmwareError(opts.port, 'boot', msg, { cause });
    };
    let key: SealingKey | undefined;
    let deviceId = '';
    try {
      const meta = JSON.parse(readFileSync(metaPathFor(opts.flashImage), 'utf8')) as {
        uid?: unknown;
      };
      if (typeof meta.uid !== 'string') fail('the chip has no UID in its metadata');
      const page = readFlash(
        opts.flashImage,
        opts.credentialAddress - (opts.flashBase ?? 0x08000000),
        opts.credentialSize ?? 4096,
      );
      const creds = readCredentialBlob(page, meta.uid as string);
      page.fill(0);
      try {
        key = deriveSealingKey(creds.mcuPrivateKey, creds.serverPublicKey);
      } finally {
        creds.mcuPrivateKey.fill(0);
      }
      deviceId = creds.deviceId;
    } catch (e) {
      if (e instanceof FirmwareError) throw e;
      fail((e as Error).message, e);
    }
    const sealing = key as SealingKey;
    let transport: SerialTransport;
    try {
      transport = await SerialTransport.open({
        path: opts.port,
        baudRate: opts.baud ?? 115200,
        parity: 'none',
      });
    } catch (e) {
      forgetSealingKey(sealing);
      throw new FirmwareError(opts.port, 'boot', (e as Error).message, { cause: e });
    }
    const at = new AtHost(transport, opts.log);
    const fw = new McuFirmware(opts, at, sealing, deviceId);
    try {
      await at.command('AT');
      await at.command('ATE0');
    } catch (e) {
      await fw.reset();
      throw new FirmwareError(opts.port, 'boot', (e as Error).message, { cause: e });
    }
    return fw;
  }

  /** Opens the TLS session to the server through the modem's configured context. */
  async connect(host: string, port: number, conn = 0): Promise<void> {
    // A session left from before a reset is closed first; the modem answers OK either way.
    await this.at.command(`AT+QSSLCLOSE=${conn}`).catch(() => {});
    try {
      this.link = await FieldLink.open(this.at, {
        host,
        port,
        sslContext: this.opts.sslContext ?? 1,
        conn,
      });
    } catch (e) {
      throw new FirmwareError(this.opts.port, 'connect', (e as Error).message, { cause: e });
    }
  }

  /** Seals one reading with the next counter, sends it and waits for the server's answer. */
  async sendReading(payload: Uint8Array): Promise<SentReading> {
    if (!this.link) throw new FirmwareError(this.opts.port, 'send', 'not connected');
    const counter = loadCounter(this.opts.counterFile) + 1n;
    storeCounter(this.opts.counterFile, counter);
    const envelope = seal(this.key, counter, payload);
    try {
      await this.link.sendFrame(envelope);
      return { counter, envelope, answer: await this.link.readAnswer() };
    } catch (e) {
      throw new FirmwareError(this.opts.port, 'send', (e as Error).message, { cause: e });
    }
  }

  /** Ends the session politely and stops. */
  async shutdown(): Promise<void> {
    await this.link?.close();
    await this.reset();
  }

  /**
   * The MCU held in reset: the UART goes quiet and the port is released, the modem keeps
   * whatever session it had, and the key in RAM is gone.
   */
  async reset(): Promise<void> {
    this.link = null;
    forgetSealingKey(this.key);
    await this.at.close();
  }
}
