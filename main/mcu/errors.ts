/**
 * Typed failures of the MCU side. Each one names the port and the bootloader step and
 * says what the device answered, so an operator can tell a dead line from a refusal.
 * None of them ever carries credential bytes.
 */

/** Bootloader steps as they appear in errors and in the slot's log. */
export type BootloaderStep =
  | 'sync'
  | 'get'
  | 'get-version'
  | 'get-id'
  | 'read'
  | 'write'
  | 'erase'
  | 'readout-protect'
  | 'recover'
  | 'identify';

export interface BootloaderErrorInit {
  port: string;
  step: BootloaderStep;
  /** Memory address the step was about, when there is one. */
  address?: number;
  detail: string;
  /** What came back, as hex bytes, or 'nothing' when the line stayed silent. */
  deviceAnswered: string;
}

/** Any AN3155 exchange that failed after its bounded retries. */
export class BootloaderError extends Error {
  override name = 'BootloaderError';
  readonly port: string;
  readonly step: BootloaderStep;
  readonly address: number | undefined;
  readonly detail: string;
  readonly deviceAnswered: string;

  constructor(init: BootloaderErrorInit) {
    const where = init.address === undefined ? '' : ` at ${hex32(init.address)}`;
    super(
      `${init.port}: bootloader ${init.step}${where} failed: ${init.detail} (device answered: ${init.deviceAnswered})`,
    );
    this.port = init.port;
    this.step = init.step;
    this.address = init.address;
    this.detail = init.detail;
    this.deviceAnswered = init.deviceAnswered;
  }
}

/**
 * The bootloader refuses memory access because read-out protection is active. Raised
 * without retrying: asking again cannot succeed and only lengthens the slot.
 */
export class ReadoutProtectedError extends BootloaderError {
  override name = 'ReadoutProtectedError';
}

/** Get ID returned a product ID keyline has no verified layout for; nothing is guessed. */
export class UnknownMcuError extends Error {
  override name = 'UnknownMcuError';
  constructor(
    readonly port: string,
    readonly pid: number,
  ) {
    super(
      `${port}: unknown STM32 product ID 0x${pid.toString(16).padStart(3, '0')} (no family entry; refusing to guess its memory layout)`,
    );
  }
}

/** The profile's credential area or the blob does not satisfy the write rules. */
export class CredentialAreaError extends Error {
  override name = 'CredentialAreaError';
  constructor(
    readonly address: number,
    readonly reason: string,
  ) {
    super(`credential area ${hex32(address)} refused: ${reason}`);
  }
}

/** Read-back after writing differed from what was written. */
export class CredentialVerifyError extends Error {
  override name = 'CredentialVerifyError';
  constructor(
    readonly port: string,
    readonly address: number,
    /** Offset of the first differing byte within the blob (the bytes themselves stay secret). */
    readonly firstMismatch: number,
    readonly mismatchCount: number,
  ) {
    super(
      `${port}: credential read-back at ${hex32(address)} differs from what was written (${mismatchCount} bytes, first at offset ${firstMismatch})`,
    );
  }
}

/** Formats an address the way ST's manuals print it. */
export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Bytes as spaced hex for error context ('nothing' for none). */
export function hexBytes(bytes: Uint8Array, max = 16): string {
  if (bytes.length === 0) return 'nothing';
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join(
    ' ',
  );
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown;
}
