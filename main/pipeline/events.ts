import type { ProvisionStep, SlotState } from './state-machine.ts';

/**
 * Typed events a batch emits for the UI and the CLI. Plain data (JSON-safe): they cross
 * the IPC contract and are printed as JSON lines by `keyline provision --json`. No event
 * ever carries key material.
 */

/** Why a slot failed: which step, a readable reason, and what the device said if it spoke. */
export interface SlotFailure {
  slot: string;
  step: ProvisionStep;
  /** Stable machine code: 'device-error' | 'timeout' | 'duplicate' | 'cap' | 'cancelled' | ... */
  code: string;
  reason: string;
  /** The device's own answer when there was one (e.g. "+CME ERROR: 409", "NACK 0x1F"). */
  deviceAnswered?: string;
  /** Serial numbers (hex) the abort record lists for revocation; empty before issuance. */
  revokedSerials: string[];
  /** Ledger index of the abort record, when one was written. */
  abortIndex?: number;
}

/** Hardware identity read in the identify step. */
export interface SlotIdentity {
  deviceId: string;
  imei: string;
  iccid: string;
  mcuUid: string;
  modemModel: string;
  modemFirmware: string;
  mcuFamily: string;
}

/** What a passed slot produced (public facts only). */
export interface SlotSuccess {
  slot: string;
  identity: SlotIdentity;
  commitIndex: number;
  intentIndex: number;
  modemCertFingerprintSha256Hex: string;
  mcuCertFingerprintSha256Hex: string;
  modemSerialHex: string;
  mcuSerialHex: string;
  /** Certificates being replaced by an explicit re-provision (their revoke record index). */
  revokeIndex?: number;
  elapsedMs: number;
}

export type SlotEvent =
  | { type: 'state'; slot: string; from: SlotState; to: SlotState; elapsedMs: number }
  | {
      type: 'progress';
      slot: string;
      step: ProvisionStep;
      stepPercent: number;
      totalPercent: number;
      bytes?: number;
      bytesTotal?: number;
      elapsedMs: number;
      message: string;
    }
  | { type: 'identified'; slot: string; identity: SlotIdentity; elapsedMs: number }
  | { type: 'log'; slot: string; level: 'info' | 'warn'; message: string; elapsedMs: number }
  | { type: 'pass'; slot: string; result: SlotSuccess }
  | { type: 'fail'; slot: string; failure: SlotFailure; elapsedMs: number };

/** Events about the batch as a whole. */
export type BatchEvent =
  | { type: 'batch-start'; batch: string; slots: string[]; profile: string }
  | {
      type: 'recovered';
      /** An intent a crashed run left open, closed now with an abort record. */
      intentIndex: number;
      abortIndex: number;
      deviceId: string;
      crashedDuring: string;
      revokedSerials: string[];
    }
  | {
      type: 'batch-end';
      batch: string;
      passed: number;
      failed: number;
      elapsedMs: number;
    };

export type PipelineEvent = SlotEvent | BatchEvent;
