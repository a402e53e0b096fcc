import { StepRefusedError } from './errors.ts';
import type { ProvisionStep } from './state-machine.ts';

/** A timeout as an AbortSignal with a typed reason; `clear()` releases the timer early. */
export function timeoutSignal(
  ms: number,
  reason: () => Error,
): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(reason()), ms);
  t.unref();
  return { signal: ac.signal, clear: () => clearTimeout(t) };
}

/**
 * Runs a device step's work under the slot's signal plus the step's own timeout. The race
 * makes the slot move on even if a driver overlooked the signal; the slot closes its ports
 * afterwards, which stops whatever the driver was still doing. Only for device I/O: ledger
 * appends and issuance must run to completion (see SlotRun.ledgerStep).
 */
export async function runDeviceStep<T>(
  step: ProvisionStep,
  timeoutMs: number,
  slotSignal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timer = timeoutSignal(
    timeoutMs,
    () => new StepRefusedError(step, 'timeout', `${step} took longer than ${timeoutMs} ms`),
  );
  const stepSignal = AbortSignal.any([slotSignal, timer.signal]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(stepSignal.reason);
    stepSignal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    if (stepSignal.aborted) throw stepSignal.reason;
    return await Promise.race([work(stepSignal), aborted]);
  } finally {
    timer.clear();
    if (onAbort) stepSignal.removeEventListener('abort', onAbort);
  }
}
