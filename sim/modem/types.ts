/** Which Quectel module a slot simulates: EC25 = LTE Standard, BG96 = LPWA, M66 = 2G. */
export type ModemModel = 'EC25' | 'BG96' | 'M66';

/**
 * How much the firmware gives away to someone on the bus. `hardened` refuses the debug
 * commands and file read-back; `exposed` behaves like the EC25/EG25 firmware from the public
 * write-ups (ADB salt, ADB on, Linux shell command, readable files).
 */
export type ModemPersonality = 'hardened' | 'exposed';

/** The three storages the simulator models. NVRAM exists only on the 2G family. */
export type ModemStorage = 'UFS' | 'RAM' | 'NVRAM';

/**
 * A deterministic misbehaviour. `command` is a case-insensitive prefix of the command line
 * (e.g. 'AT+QFUPL'); `occurrence` is 1-based and counts matching commands (uploads for the
 * upload faults); omitted means every time.
 */
export type ModemFault =
  | { kind: 'stall'; command: string; occurrence?: number }
  | { kind: 'error'; command: string; cme?: number; occurrence?: number }
  | { kind: 'corrupt-upload'; offset: number; occurrence?: number }
  | { kind: 'drop-upload'; offset: number; occurrence?: number }
  | { kind: 'unplug'; command: string; afterBytes?: number; occurrence?: number };

/** Modelled processing time per kind of command, in milliseconds before `latencyScale`. */
export interface ModemLatencyProfile {
  /** AT, ATE, CMEE, identity queries. */
  simpleMs: number;
  /** QFLDS, QFLST, QSECREAD, QSSLCFG queries. */
  queryMs: number;
  /** QFDEL, QSECDEL. */
  deleteMs: number;
  /** QSSLCFG set form (written to flash on real modules). */
  sslConfigSetMs: number;
  /** From the upload command to CONNECT. */
  uploadSetupMs: number;
  /** Flash commit after an upload: base + per started KiB. */
  uploadCommitBaseMs: number;
  uploadCommitPerKiBMs: number;
  /** QFOPEN, QFREAD, QFCLOSE, QFDWL set-up. */
  fileHandleMs: number;
  /** From power-on to `RDY`. */
  bootMs: number;
}

export interface ModemSimOptions {
  /** The simulator's end of the PTY pair (PtyPair.device). */
  devicePath: string;
  model: ModemModel;
  imei: string;
  iccid: string;
  /** 15 digits for AT+CIMI; default: test network 001-01 + digits taken from the ICCID. */
  imsi?: string;
  /** Revision string for ATI; a per-model default otherwise. */
  firmware?: string;
  baud: number;
  /** JSON state file (UFS, NVRAM, RAM, TLS contexts); reloaded if it exists. */
  stateFile: string;
  /** Default 'hardened'. */
  personality?: ModemPersonality;
  faults?: ModemFault[];
  /** Seeds the bit flips of corrupt-upload and the exposed ADB salt. Default 1. */
  seed?: number;
  /** Multiplies every modelled latency (0 = none). Default 1. */
  latencyScale?: number;
  /** Overrides parts of the default latency profile. */
  latency?: Partial<ModemLatencyProfile>;
  /** Default 14483456 (a BG96's UFS). */
  ufsCapacityBytes?: number;
  /** Default 1 MiB. */
  ramCapacityBytes?: number;
  /** Send `RDY` once the port is open, as a board being powered on would. Default false. */
  announceOnStart?: boolean;
  /** Called by the unplug fault; the fixture closes the PTY pair here. */
  onUnplug?: () => Promise<void>;
  log?: (line: string) => void;
}

/** Counters for benchmarks: bytes each way and the latency the model added (scaled). */
export interface ModemSimStats {
  bytesIn: number;
  bytesOut: number;
  modelledLatencyMs: number;
  commands: number;
}

/** Anything the simulator itself cannot do (bad options, state file, port). */
export class ModemSimError extends Error {
  constructor(
    readonly devicePath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`modem simulator ${devicePath}: ${message}`, options);
    this.name = 'ModemSimError';
  }
}

/** The state file is missing fields, not JSON, or cannot be written. */
export class ModemStateFileError extends Error {
  constructor(
    readonly stateFile: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`modem state file ${stateFile}: ${message}`, options);
    this.name = 'ModemStateFileError';
  }
}
