import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
  fstatSync,
} from 'node:fs';
import type { FamilyModel, McuFamily } from './families.ts';

/** Read-out protection level as the simulator models it (level 2 is not modelled). */
export type RdpLevel = 0 | 1;

/** What `<stateFile>.json` holds next to the raw flash image. */
export interface McuStateMeta {
  readonly format: 'keyline-stm32-sim/1';
  readonly family: McuFamily;
  readonly pid: number;
  /** 24 lowercase hex digits, address order. */
  readonly uid: string;
  readonly rdpLevel: RdpLevel;
  /** Write-protected sector/page numbers. */
  readonly writeProtected: readonly number[];
}

export class McuStateFileError extends Error {
  override name = 'McuStateFileError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`MCU state file ${file}: ${reason}`);
  }
}

/** Path of the JSON metadata that belongs to a flash image state file. */
export function metaPathFor(stateFile: string): string {
  return `${stateFile}.json`;
}

/**
 * Main flash of one simulated board, persisted as a full raw image (`stateFile`, byte 0 =
 * address 0x08000000, erased bytes 0xFF) plus `<stateFile>.json` metadata. Every change is
 * written through before the bootloader ACKs it, so a killed fixture reloads exactly what a
 * host saw acknowledged, and tests can read the file at `address - 0x08000000`.
 */
export class FlashStore {
  private fd: number | null;

  private constructor(
    readonly file: string,
    private readonly image: Uint8Array,
    fd: number,
    private metaValue: McuStateMeta,
  ) {
    this.fd = fd;
  }

  /** Opens (or creates, all erased) the state of a board; refuses a file of another board. */
  static open(stateFile: string, model: FamilyModel, uid: string): FlashStore {
    const metaFile = metaPathFor(stateFile);
    let meta: McuStateMeta = {
      format: 'keyline-stm32-sim/1',
      family: model.family,
      pid: model.pid,
      uid,
      rdpLevel: 0,
      writeProtected: [],
    };
    if (existsSync(metaFile)) {
      let parsed: Partial<McuStateMeta>;
      try {
        parsed = JSON.parse(readFileSync(metaFile, 'utf8')) as Partial<McuStateMeta>;
      } catch (e) {
        throw new McuStateFileError(metaFile, `unreadable metadata (${(e as Error).message})`);
      }
      if (parsed.format !== meta.format)
        throw new McuStateFileError(metaFile, `unknown format ${String(parsed.format)}`);
      if (parsed.family !== model.family)
        throw new McuStateFileError(
          metaFile,
          `belongs to a ${String(parsed.family)} board, not ${model.family}`,
        );
      if (parsed.uid !== uid)
        throw new McuStateFileError(metaFile, `belongs to UID ${String(parsed.uid)}, not ${uid}`);
      meta = {
        ...meta,
        rdpLevel: parsed.rdpLevel === 1 ? 1 : 0,
        writeProtected: Array.isArray(parsed.writeProtected)
          ? parsed.writeProtected.filter((n) => Number.isInteger(n))
          : [],
      };
    }
    const image = new Uint8Array(model.flashSize).fill(0xff);
    let fd: number;
    if (existsSync(stateFile)) {
      fd = openSync(stateFile, 'r+');
      try {
        const size = fstatSync(fd).size;
        if (size !== model.flashSize)
          throw new McuStateFileError(
            stateFile,
            `image is ${size} bytes, a ${model.family} has ${model.flashSize}`,
          );
        const buf = readFileSync(stateFile);
        image.set(buf);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
    } else {
      fd = openSync(stateFile, 'w+');
      writeSync(fd, image, 0, image.length, 0);
    }
    const store = new FlashStore(stateFile, image, fd, meta);
    store.saveMeta();
    return store;
  }

  get meta(): McuStateMeta {
    return this.metaValue;
  }

  get size(): number {
    return this.image.length;
  }

  /** A copy of `length` bytes at `offset` from the start of flash. */
  read(offset: number, length: number): Uint8Array {
    return this.image.slice(offset, offset + length);
  }

  isErased(offset: number, length: number): boolean {
    for (let i = offset; i < offset + length; i++) if (this.image[i] !== 0xff) return false;
    return true;
  }

  program(offset: number, data: Uint8Array): void {
    this.image.set(data, offset);
    this.writeThrough(offset, data.length);
  }

  erase(offset: number, length: number): void {
    this.image.fill(0xff, offset, offset + length);
    this.writeThrough(offset, length);
  }

  setRdpLevel(level: RdpLevel): void {
    this.metaValue = { ...this.metaValue, rdpLevel: level };
    this.saveMeta();
  }

  setWriteProtected(sectors: readonly number[]): void {
    this.metaValue = {
      ...this.metaValue,
      writeProtected: [...new Set(sectors)].sort((a, b) => a - b),
    };
    this.saveMeta();
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private writeThrough(offset: number, length: number): void {
    if (this.fd === null) throw new McuStateFileError(this.file, 'write after close');
    writeSync(this.fd, this.image, offset, length, offset);
  }

  private saveMeta(): void {
    const metaFile = metaPathFor(this.file);
    const tmp = `${metaFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.metaValue, null, 2) + '\n');
    renameSync(tmp, metaFile);
  }
}
