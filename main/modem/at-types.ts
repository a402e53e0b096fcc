/** The AtEngine's public option and result types. */

/** A command that ended with a success final result. */
export interface AtResponse {
  readonly command: string;
  /** Information lines in order; echo, URCs, CONNECT and the final result removed. */
  readonly lines: readonly string[];
  /** The final result (`OK`, or e.g. `SEND OK`). */
  readonly final: string;
  /** Bytes of a data phase (`CONNECT <n>` then n raw bytes), when one was requested. */
  readonly data?: Uint8Array;
}

/** One log record. Data-phase bytes are never logged, only their count. */
export interface AtLogEntry {
  readonly dir: 'tx' | 'rx' | 'urc' | 'event';
  readonly text: string;
}
export type AtLog = (entry: AtLogEntry) => void;

export interface AtEngineOptions {
  log?: AtLog;
  /** Per-command answer timeout when a call gives none. Default 5000 ms. */
  defaultTimeoutMs?: number;
  /** Longest accepted line; longer ones fail the command and resync. Default 4096. */
  maxLineLength?: number;
  /** Fixture slot, quoted in every error. */
  slot?: string | number;
  /** `AT` attempts in a resync. Default 8. */
  resyncAttempts?: number;
  /** Wait for `OK` per resync attempt. Default 1000 ms. */
  resyncAttemptMs?: number;
}

export interface CommandOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Pipeline step named in errors. */
  step?: string;
  /**
   * Accept a data phase: `CONNECT <n>` (or bare `CONNECT` with `length`) followed by exactly
   * n raw bytes, returned in `AtResponse.data`. `maxLength` bounds what is accepted.
   */
  data?: { length?: number; maxLength?: number };
  /** Extra final results that mean success (2G `CLOSE OK`). */
  successFinals?: readonly string[];
}

export interface SendDataOptions {
  /** Bound on each wait: for CONNECT or the prompt, for each ack, and for the result. */
  timeoutMs: number;
  /** What the module sends before taking data. Default `CONNECT`. */
  prompt?: 'CONNECT' | '>';
  /** Wait for one `A` after every `ackEvery` bytes (`AT+QFUPL` ackmode 1 uses 1024). */
  ackEvery?: number;
  /** Wait for the result after the last byte (flash write; default `timeoutMs`). */
  resultTimeoutMs?: number;
  signal?: AbortSignal;
  step?: string;
  onProgress?: (bytesSent: number, bytesTotal: number) => void;
}
