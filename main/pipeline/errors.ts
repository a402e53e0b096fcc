import { TransportClosedError, TransportTimeoutError } from '../transport/transport.ts';
import type { ProvisionStep } from './state-machine.ts';

/**
 * A step refused by the pipeline itself (duplicate board, cap reached, wrong model,
 * verification mismatch), as opposed to an error thrown by a driver.
 */
export class StepRefusedError extends Error {
  override name = 'StepRefusedError';
  constructor(
    readonly step: ProvisionStep,
    readonly code: string,
    message: string,
    readonly deviceAnswered?: string,
  ) {
    super(message);
  }
}

/** The slot's overall time budget ran out. */
export class SlotTimeoutError extends Error {
  override name = 'SlotTimeoutError';
  constructor(
    readonly slot: string,
    readonly step: ProvisionStep | undefined,
    readonly timeoutMs: number,
  ) {
    super(`slot ${slot}: no result within ${timeoutMs} ms (during ${step ?? 'start'})`);
  }
}

/** A failure's reason in the shape a SlotFailure needs. */
export interface FailureDescription {
  code: string;
  reason: string;
  deviceAnswered?: string;
}

/**
 * Turns whatever a step threw into a code, one readable line and the device's answer.
 * Driver errors are typed by other modules; they are read by their public fields
 * (`code`, `deviceAnswered`) so the pipeline does not depend on every error class.
 * Secrets never appear here: driver errors do not carry them and neither does this.
 */
export function describeFailure(err: unknown, signal?: AbortSignal): FailureDescription {
  if (signal?.aborted)
    return { code: 'cancelled', reason: `cancelled: ${reasonText(signal.reason)}` };
  if (err instanceof StepRefusedError)
    return withAnswer({ code: err.code, reason: err.message }, err.deviceAnswered);
  if (err instanceof SlotTimeoutError) return { code: 'timeout', reason: err.message };
  if (err instanceof TransportTimeoutError) return { code: 'timeout', reason: err.message };
  if (err instanceof TransportClosedError) return { code: 'unplugged', reason: err.message };
  if (err instanceof Error) {
    const e = err as Error & {
      code?: unknown;
      deviceAnswered?: unknown;
      answer?: unknown;
      lastLines?: unknown;
    };
    // Bootloader errors say `deviceAnswered`; modem errors give the final result line
    // (`answer`) or, after a timeout, the last lines the module sent.
    const answered =
      nonEmpty(e.deviceAnswered) ??
      nonEmpty(e.answer) ??
      (Array.isArray(e.lastLines) && e.lastLines.length > 0
        ? e.lastLines.map(String).join(' | ')
        : undefined);
    const name = e.name && e.name !== 'Error' ? e.name : 'error';
    const code = typeof e.code === 'string' ? e.code : kebab(name);
    return withAnswer({ code, reason: firstLine(e.message) || name }, answered);
  }
  return { code: 'error', reason: firstLine(String(err)) };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function withAnswer(d: FailureDescription, answered: string | undefined): FailureDescription {
  return answered === undefined ? d : { ...d, deviceAnswered: answered };
}

function reasonText(r: unknown): string {
  return r instanceof Error ? r.message : String(r ?? 'aborted');
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

function kebab(s: string): string {
  return s
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
