import type { ErrorCode, ErrorDetails, Failure } from '../../contract/result.ts';
import { errorKind } from '../../contract/result.ts';

/**
 * An error the station service raises on purpose, with a stable contract code and the
 * context an operator needs. Anything else that escapes a handler is a defect.
 */
export class StationAppError extends Error {
  override name = 'StationAppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** Domain error names (from other keyline modules) that are operator errors, by code. */
const domainCodes: Record<string, ErrorCode> = {
  StationPassphraseError: 'wrong-passphrase',
  WrongPassphraseError: 'wrong-passphrase',
  UnlockBackoffError: 'locked-out',
  UnlockLockedError: 'locked-out',
  StationNotFoundError: 'station-missing',
  StationExistsError: 'station-exists',
  WeakPassphraseError: 'invalid-input',
  StationCorruptError: 'invalid-input',
  StationError: 'invalid-input',
  CaImportError: 'invalid-input',
  MalformedInputError: 'invalid-input',
  UnsupportedKeyError: 'invalid-input',
  ChainVerificationError: 'invalid-input',
  ProfileError: 'invalid-input',
  LedgerExportError: 'invalid-input',
  LedgerLockedError: 'port-unavailable',
  FaultSpecError: 'invalid-input',
  TransportError: 'port-unavailable',
  TransportTimeoutError: 'port-unavailable',
  TransportClosedError: 'port-unavailable',
  HardwareIdError: 'invalid-input',
  UsageError: 'invalid-input',
};

function flatDetails(value: unknown): ErrorDetails {
  const out: ErrorDetails = {};
  if (!value || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'stack' || k === 'message' || k === 'name' || k === 'cause') continue;
    if (/pass|pin|secret|key|token/i.test(k)) continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
      out[k] = v as string | number | boolean | null;
    }
  }
  return out;
}

/** Turns anything thrown by a handler into the contract's Failure. */
export function toFailure(e: unknown): Failure {
  if (e instanceof StationAppError) {
    return {
      ok: false,
      code: e.code,
      kind: errorKind(e.code),
      message: e.message,
      details: e.details,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const code = domainCodes[err.name] ?? 'internal';
  return {
    ok: false,
    code,
    kind: errorKind(code),
    message: err.message.split('\n')[0] || err.name,
    details: { error: err.name, ...flatDetails(err) },
  };
}

/** Builds a Failure from a code without throwing. */
export function failure(code: ErrorCode, message: string, details: ErrorDetails = {}): Failure {
  return { ok: false, code, kind: errorKind(code), message, details };
}
