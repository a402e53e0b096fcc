import type { AtCommand } from './at-line.ts';
import type { ModelTraits } from './models.ts';
import type { Reply } from './reply.ts';
import type { FileRef, ModemStore } from './store.ts';
import type { ModemLatencyProfile, ModemModel, ModemPersonality } from './types.ts';

/** A handle from AT+QFOPEN. */
export interface OpenFile {
  ref: FileRef;
  position: number;
  readOnly: boolean;
}

/** Settings that live until the next power cycle. */
export interface SessionSettings {
  echo: boolean;
  cmee: number;
  /** AT+IFC flow control setting (reported only). */
  ifc: [number, number];
  handles: Map<number, OpenFile>;
  nextHandle: number;
}

/** Identity and behaviour fixed for the module's lifetime. */
export interface ModuleConfig {
  model: ModemModel;
  imei: string;
  iccid: string;
  imsi: string;
  firmware: string;
  personality: ModemPersonality;
  seed: number;
  baud: number;
}

/** The result of a data phase: what arrived before the size was reached or the line went idle. */
export interface DataPhase {
  data: Uint8Array;
  /** All bytes came, the line went idle, or the host sent the `+++` escape. */
  ending: 'complete' | 'timeout' | 'escape';
}

/** What a command handler may use; the session implements it. */
export interface CommandContext {
  readonly traits: ModelTraits;
  readonly config: ModuleConfig;
  readonly store: ModemStore;
  readonly settings: SessionSettings;
  readonly latency: Readonly<ModemLatencyProfile>;
  /** Aborts when this power-on period ends (stop, power cycle): long-lived state closes then. */
  readonly sessionSignal: AbortSignal;
  /** Waits `ms` of modelled device time (scaled) and counts it in the stats. */
  delay(ms: number): Promise<void>;
  /** Raw output through the paced line (CONNECT lines, file data, ack bytes). */
  send(bytes: string | Uint8Array): void;
  /**
   * Receives an upload's data phase: up to `size` bytes, ending early after `idleMs`
   * without a byte or on `+++` framed by a second of silence each side (the `+` are not
   * stored). With `ackEvery`, sends one `A` after each that many bytes. Applies the upload
   * faults; an unplug fault ends the session from inside.
   */
  receiveData(size: number, idleMs: number, ackEvery: number | null): Promise<DataPhase>;
}

export type CommandHandler = (cmd: AtCommand, ctx: CommandContext) => Promise<Reply>;
