import { writeModemState, type ModemState, type SslSetting } from './state-file.ts';
import type { ModemStorage } from './types.ts';

/** A file name as the station wrote it, resolved to its storage. */
export interface FileRef {
  storage: ModemStorage;
  name: string;
}

/**
 * `UFS:x` and a bare `x` are UFS, `RAM:x` RAM, `NVRAM:x` NVRAM (prefixes case-insensitive).
 * Null for names a module would call invalid: empty, over 80 bytes, or with `*`, `"`, `/`.
 */
export function resolveFileName(raw: string): FileRef | null {
  const m = /^(UFS|RAM|NVRAM):(.*)$/i.exec(raw);
  const storage = (m ? m[1].toUpperCase() : 'UFS') as ModemStorage;
  const name = m ? m[2] : raw;
  if (name.length === 0 || name.length > 80 || /[*"\\/\r\n]/.test(name)) return null;
  return { storage, name };
}

/**
 * The module's persistent and volatile storage. Every change is saved to the state file in
 * the background (on the thread pool, not this event loop, which serves every simulated
 * module of a fixture), and the session waits for the save before it answers the command
 * that made the change: once the station sees `OK`, the file holds the change.
 */
export class ModemStore {
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    readonly state: ModemState,
    private readonly stateFile: string,
    private readonly capacity: Readonly<Record<ModemStorage, number>>,
  ) {}

  /** Schedules a save of the current state; changes made before it starts go with it. */
  save(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.saving = this.saving.then(() => {
      this.dirty = false;
      return writeModemState(this.stateFile, this.state);
    });
  }

  /** Resolves once every change so far is in the state file; rejects if a save failed. */
  flush(): Promise<void> {
    return this.saving;
  }

  get(ref: FileRef): Uint8Array | undefined {
    return this.state.files[ref.storage].get(ref.name);
  }

  list(storage: ModemStorage): [string, Uint8Array][] {
    return [...this.state.files[storage]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  used(storage: ModemStorage): number {
    let n = 0;
    for (const d of this.state.files[storage].values()) n += d.length;
    return n;
  }

  total(storage: ModemStorage): number {
    return this.capacity[storage];
  }

  free(storage: ModemStorage): number {
    return Math.max(0, this.capacity[storage] - this.used(storage));
  }

  put(ref: FileRef, data: Uint8Array): void {
    this.state.files[ref.storage].set(ref.name, Uint8Array.from(data));
    this.save();
  }

  delete(ref: FileRef): boolean {
    const had = this.state.files[ref.storage].delete(ref.name);
    if (had) this.save();
    return had;
  }

  clear(storage: ModemStorage): void {
    this.state.files[storage].clear();
    this.save();
  }

  sslSetting(ctx: number | null, item: string): SslSetting | undefined {
    return ctx === null ? this.state.sslGlobal.get(item) : this.state.ssl.get(ctx)?.get(item);
  }

  setSsl(ctx: number | null, item: string, setting: SslSetting): void {
    if (ctx === null) this.state.sslGlobal.set(item, setting);
    else {
      let m = this.state.ssl.get(ctx);
      if (!m) this.state.ssl.set(ctx, (m = new Map()));
      m.set(item, setting);
    }
    this.save();
  }
}
