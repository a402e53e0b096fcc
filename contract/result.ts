/**
 * Errors cross the main/renderer boundary as data, never as thrown objects: Electron's
 * invoke keeps only an error's message, and a WebSocket keeps nothing. Codes are stable
 * so the UI can react to them; `kind` separates what the operator can fix from defects.
 */

/** Failures the operator caused or can fix (wrong passphrase, busy port, bad input). */
export const operatorErrorCodes = [
  'invalid-request',
  'station-missing',
  'station-exists',
  'station-locked',
  'wrong-passphrase',
  'locked-out',
  'profile-missing',
  'not-found',
  'already-exists',
  'batch-running',
  'no-batch',
  'port-unavailable',
  'fixture-not-running',
  'invalid-input',
] as const;

/** Failures that are keyline's fault or the machine's (bugs, unavailable subsystems). */
export const defectErrorCodes = ['forbidden', 'unavailable', 'secret-blocked', 'internal'] as const;

export type OperatorErrorCode = (typeof operatorErrorCodes)[number];
export type DefectErrorCode = (typeof defectErrorCodes)[number];
export type ErrorCode = OperatorErrorCode | DefectErrorCode;
export type ErrorKind = 'operator' | 'defect';

/** Small, flat context for an error: which slot/step/port, what the device answered. */
export type ErrorDetails = Record<string, string | number | boolean | null>;

export interface Failure {
  ok: false;
  code: ErrorCode;
  kind: ErrorKind;
  message: string;
  details: ErrorDetails;
}

export interface Success<T> {
  ok: true;
  value: T;
}

export type Result<T> = Success<T> | Failure;

/** Which side of the operator/defect line a code sits on. */
export function errorKind(code: ErrorCode): ErrorKind {
  return (operatorErrorCodes as readonly string[]).includes(code) ? 'operator' : 'defect';
}
