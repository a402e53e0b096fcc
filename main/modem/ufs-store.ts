import type { AtEngine } from './at-engine.ts';
import { FileError } from './error-codes.ts';
import { ModemCommandError, ModemStorageError } from './errors.ts';
import {
  parseSizeChecksum,
  type FileStore,
  type PlannedFile,
  type ReportedFile,
  type RoomCheck,
  type StoreIo,
  type StoreTimeouts,
} from './file-store.ts';
import type { CredentialRole } from './tls-config.ts';

/** Names as the module lists them: without the default `UFS:` prefix. */
export function bareUfsName(name: string): string {
  return name.replace(/^UFS:/i, '');
}

/**
 * LTE Standard and LPWA file storage. Uploads use ackmode 1 (an `A` after every 1024
 * bytes), which paces the host to the module's flash without relying on RTS/CTS.
 */
export class UfsStore implements FileStore {
  readonly checkAllAfterWrite = true;

  constructor(private readonly timeouts: StoreTimeouts) {}

  defaultNames(ctx: number): Record<CredentialRole, string> {
    return {
      cacert: `UFS:klca${ctx}.pem`,
      clientcert: `UFS:klcc${ctx}.pem`,
      clientkey: `UFS:klck${ctx}.pem`,
    };
  }

  async prepare(io: StoreIo, names: readonly string[]): Promise<RoomCheck> {
    for (const name of names) await this.remove(io, name);
    const free = await freeBytes(io.engine, io);
    return (needed) => {
      if (free !== undefined && free < needed)
        throw new ModemStorageError({ ...io.context, step: 'prepare' }, needed, free);
    };
  }

  async upload(
    io: StoreIo,
    file: PlannedFile,
    onBytes: (sent: number) => void,
  ): Promise<ReportedFile> {
    const cmd = `AT+QFUPL="${file.name}",${file.bytes.length},${this.timeouts.uploadIdleS},1`;
    const res = await io.engine.sendData(cmd, file.bytes, {
      ackEvery: 1024,
      timeoutMs: this.timeouts.connectMs,
      resultTimeoutMs: this.timeouts.uploadResultMs,
      step: `upload:${file.role}`,
      signal: io.signal,
      onProgress: (sent) => onBytes(sent),
    });
    return parseSizeChecksum(res.lines, '+QFUPL:');
  }

  async confirm(): Promise<undefined> {
    // UFS offers no checksum query short of downloading the file (AT+QFDWL), which would
    // send the key back over the bus; the size check in inspect() is done after all uploads.
    return undefined;
  }

  async inspect(
    io: StoreIo,
    names: readonly string[],
  ): Promise<Map<string, ReportedFile | undefined>> {
    const res = await io.engine.command('AT+QFLST="*"', { step: 'list', signal: io.signal });
    const listed = new Map<string, number>();
    for (const l of res.lines) {
      const m = /^\+QFLST:\s*"([^"]*)"\s*,\s*(\d+)/i.exec(l);
      if (m) listed.set(bareUfsName(m[1]).toLowerCase(), Number(m[2]));
    }
    const out = new Map<string, ReportedFile | undefined>();
    for (const n of names) {
      const size = listed.get(bareUfsName(n).toLowerCase());
      out.set(n, size === undefined ? undefined : { size, checksum: undefined });
    }
    return out;
  }

  async remove(io: StoreIo, name: string): Promise<void> {
    try {
      await io.engine.command(`AT+QFDEL="${name}"`, { step: 'delete', signal: io.signal });
    } catch (e) {
      if (e instanceof ModemCommandError && e.code === FileError.notFound) return;
      throw e;
    }
  }
}

/** Free bytes in UFS, or undefined when the module does not say. */
async function freeBytes(engine: AtEngine, io: StoreIo): Promise<number | undefined> {
  try {
    const res = await engine.command('AT+QFLDS="UFS"', { step: 'prepare', signal: io.signal });
    const m = res.lines.map((l) => /^\+QFLDS:\s*(\d+)\s*,\s*(\d+)/i.exec(l)).find((x) => x);
    return m ? Number(m[1]) : undefined;
  } catch (e) {
    if (e instanceof ModemCommandError) return undefined;
    throw e;
  }
}
