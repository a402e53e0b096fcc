import { ModemCommandError } from './errors.ts';
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

/**
 * 2G secure storage (M66/MC60). `NVRAM:CA0/CC0/CK0` are the names Quectel's own examples
 * use and the only set known to work, so they do not vary with the TLS context. Contents
 * never come back; `AT+QSECREAD` reports presence and a checksum, which is compared with
 * the XOR-16 of the bytes sent (whether it equals QSECWRITE's checksum on real modules is
 * unconfirmed, protocols-reference A.5: a mismatch there fails loudly rather than passing).
 */
export class NvramStore implements FileStore {
  readonly checkAllAfterWrite = false;

  constructor(private readonly timeouts: StoreTimeouts) {}

  defaultNames(): Record<CredentialRole, string> {
    return { cacert: 'NVRAM:CA0', clientcert: 'NVRAM:CC0', clientkey: 'NVRAM:CK0' };
  }

  async prepare(): Promise<RoomCheck> {
    // QSECWRITE replaces a slot's content; nothing stale can survive a verified write, and
    // the module reports no free space to check against.
    return () => {};
  }

  async upload(
    io: StoreIo,
    file: PlannedFile,
    onBytes: (sent: number) => void,
  ): Promise<ReportedFile> {
    const cmd = `AT+QSECWRITE="${file.name}",${file.bytes.length},${this.timeouts.uploadIdleS}`;
    const res = await io.engine.sendData(cmd, file.bytes, {
      timeoutMs: this.timeouts.connectMs,
      resultTimeoutMs: this.timeouts.uploadResultMs,
      step: `upload:${file.role}`,
      signal: io.signal,
      onProgress: (sent) => onBytes(sent),
    });
    return parseSizeChecksum(res.lines, '+QSECWRITE:');
  }

  async confirm(io: StoreIo, file: PlannedFile): Promise<ReportedFile | undefined> {
    return (
      (await this.inspect(io, [file.name])).get(file.name) ?? {
        size: undefined,
        checksum: undefined,
      }
    );
  }

  async inspect(
    io: StoreIo,
    names: readonly string[],
  ): Promise<Map<string, ReportedFile | undefined>> {
    const out = new Map<string, ReportedFile | undefined>();
    for (const name of names) {
      const res = await io.engine.command(`AT+QSECREAD="${name}"`, {
        step: 'verify',
        signal: io.signal,
      });
      const line = res.lines.find((l) => /^\+QSECREAD:/i.test(l)) ?? '';
      const m = /^\+QSECREAD:\s*([01])\s*,\s*(?:0x)?([0-9A-Fa-f]{1,4})?/i.exec(line);
      out.set(
        name,
        m && m[1] === '1' && m[2]
          ? { size: undefined, checksum: Number.parseInt(m[2], 16) }
          : undefined,
      );
    }
    return out;
  }

  async remove(io: StoreIo, name: string): Promise<void> {
    try {
      await io.engine.command(`AT+QSECDEL="${name}"`, { step: 'delete', signal: io.signal });
    } catch (e) {
      // 2G error numbers are unconfirmed: any refusal of a delete is taken as "nothing there".
      if (e instanceof ModemCommandError) return;
      throw e;
    }
  }
}
