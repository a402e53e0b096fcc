import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { quectelChecksum, formatChecksum } from './checksum.ts';
import { isModemModel } from './models.ts';
import { ModemStateFileError, type ModemModel, type ModemStorage } from './types.ts';

/** A TLS context setting as the station wrote it: the value and whether it was quoted. */
export interface SslSetting {
  value: string;
  quoted: boolean;
}

/** Everything a simulated module keeps, decoded. Files are name → bytes per storage. */
export interface ModemState {
  model: ModemModel;
  imei: string;
  iccid: string;
  firmware: string;
  powerCycles: number;
  files: Record<ModemStorage, Map<string, Uint8Array>>;
  /** Per TLS context 0–5: item → setting (only items the station set). */
  ssl: Map<number, Map<string, SslSetting>>;
  /** Context-less settings (2G `ignorertctime`). */
  sslGlobal: Map<string, SslSetting>;
}

const formatTag = 'keyline-modem-sim-state/1';
export const storages: readonly ModemStorage[] = ['UFS', 'RAM', 'NVRAM'];

interface FileJson {
  size: number;
  checksum: string;
  base64: string;
}

interface StateJson {
  format: string;
  model: string;
  imei: string;
  iccid: string;
  firmware: string;
  powerCycles: number;
  storage: Record<string, Record<string, FileJson>>;
  ssl: Record<string, Record<string, SslSetting>>;
  sslGlobal: Record<string, SslSetting>;
}

export function emptyModemState(
  model: ModemModel,
  imei: string,
  iccid: string,
  firmware: string,
): ModemState {
  return {
    model,
    imei,
    iccid,
    firmware,
    powerCycles: 0,
    files: { UFS: new Map(), RAM: new Map(), NVRAM: new Map() },
    ssl: new Map(),
    sslGlobal: new Map(),
  };
}

function settingsToJson(m: Map<string, SslSetting>): Record<string, SslSetting> {
  return Object.fromEntries([...m].map(([k, v]) => [k, { value: v.value, quoted: v.quoted }]));
}

/** The state file's text: each file with its size and checksum beside the bytes, for people. */
function modemStateText(s: ModemState): string {
  const json: StateJson = {
    format: formatTag,
    model: s.model,
    imei: s.imei,
    iccid: s.iccid,
    firmware: s.firmware,
    powerCycles: s.powerCycles,
    storage: Object.fromEntries(
      storages.map((st) => [
        st,
        Object.fromEntries(
          [...s.files[st]].map(([name, data]) => [
            name,
            {
              size: data.length,
              checksum: formatChecksum(quectelChecksum(data)),
              base64: Buffer.from(data).toString('base64'),
            },
          ]),
        ),
      ]),
    ),
    ssl: Object.fromEntries([...s.ssl].map(([ctx, m]) => [String(ctx), settingsToJson(m)])),
    sslGlobal: settingsToJson(s.sslGlobal),
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** Writes the state atomically (temp file + rename), so a reader never sees half a file. */
export async function writeModemState(stateFile: string, s: ModemState): Promise<void> {
  const tmp = `${stateFile}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, modemStateText(s));
    await rename(tmp, stateFile);
  } catch (e) {
    throw new ModemStateFileError(stateFile, `cannot write (${(e as Error).message})`, {
      cause: e,
    });
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseSettings(stateFile: string, x: unknown): Map<string, SslSetting> {
  if (!isRecord(x)) throw new ModemStateFileError(stateFile, 'TLS settings are not an object');
  const out = new Map<string, SslSetting>();
  for (const [k, v] of Object.entries(x)) {
    if (!isRecord(v) || typeof v.value !== 'string' || typeof v.quoted !== 'boolean')
      throw new ModemStateFileError(stateFile, `TLS setting ${k} is malformed`);
    out.set(k, { value: v.value, quoted: v.quoted });
  }
  return out;
}

/** Parses a state file written by the simulator (for tests and tools). */
export function readModemState(stateFile: string): ModemState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw new ModemStateFileError(stateFile, `cannot read (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (!isRecord(raw) || raw.format !== formatTag)
    throw new ModemStateFileError(stateFile, `not a ${formatTag} file`);
  const { model, imei, iccid, firmware, powerCycles, storage, ssl, sslGlobal } = raw;
  if (typeof model !== 'string' || !isModemModel(model))
    throw new ModemStateFileError(stateFile, `unknown model ${String(model)}`);
  if (typeof imei !== 'string' || typeof iccid !== 'string' || typeof firmware !== 'string')
    throw new ModemStateFileError(stateFile, 'identity fields missing');
  if (typeof powerCycles !== 'number' || !isRecord(storage) || !isRecord(ssl))
    throw new ModemStateFileError(stateFile, 'storage or TLS section missing');
  const state = emptyModemState(model, imei, iccid, firmware);
  state.powerCycles = powerCycles;
  for (const st of storages) {
    const files = storage[st] ?? {};
    if (!isRecord(files)) throw new ModemStateFileError(stateFile, `${st} is not an object`);
    for (const [name, f] of Object.entries(files)) {
      if (!isRecord(f) || typeof f.base64 !== 'string')
        throw new ModemStateFileError(stateFile, `${st}:${name} has no contents`);
      const data = new Uint8Array(Buffer.from(f.base64, 'base64'));
      if (data.length !== f.size)
        throw new ModemStateFileError(stateFile, `${st}:${name} size does not match its bytes`);
      state.files[st].set(name, data);
    }
  }
  for (const [ctx, settings] of Object.entries(ssl))
    state.ssl.set(Number(ctx), parseSettings(stateFile, settings));
  state.sslGlobal = parseSettings(stateFile, sslGlobal ?? {});
  return state;
}

/** The stored state if the file exists, else null. */
export function loadModemStateIfPresent(stateFile: string): ModemState | null {
  return existsSync(stateFile) ? readModemState(stateFile) : null;
}
