/**
 * Turns the pipeline's typed slot events into the contract's SlotState the tiles show.
 * Pure: one function folds one event into the previous state.
 */
import type {
  SlotFailure as ContractFailure,
  SlotState,
  StepProgress,
} from '../../contract/types.ts';
import type { SlotEvent } from '../pipeline/events.ts';
import { PROVISION_STEPS, isStep } from '../pipeline/state-machine.ts';

const maxLogLines = 40;

/** The slot name the pipeline uses for contract slot number `n`. */
export function pipelineSlotName(n: number): string {
  return String(n);
}

export function freshSteps(): StepProgress[] {
  return PROVISION_STEPS.map((name) => ({ name, percent: 0, state: 'pending' as const }));
}

/** A slot about to run: every step pending, no IDs, no failure. */
export function queuedSlot(slot: number, modemPort: string, mcuPort: string): SlotState {
  return {
    slot,
    modemPort,
    mcuPort,
    phase: 'queued',
    step: null,
    steps: freshSteps(),
    ids: { imei: null, iccid: null, mcuUid: null, deviceId: null },
    failure: null,
    startedAt: null,
    finishedAt: null,
    log: [],
  };
}

function withLog(log: string[], line: string): string[] {
  const next = [...log, line];
  return next.length > maxLogLines ? next.slice(next.length - maxLogLines) : next;
}

/** Marks every step before `step` done and `step` itself running. */
function advanceTo(steps: StepProgress[], step: string, percent: number): StepProgress[] {
  const at = steps.findIndex((s) => s.name === step);
  if (at < 0) return steps;
  return steps.map((s, i) =>
    i < at
      ? { ...s, percent: 100, state: 'done' }
      : i === at
        ? { ...s, percent: Math.max(0, Math.min(100, percent)), state: 'running' }
        : s,
  );
}

/** Folds one pipeline event into the slot's state. `now` is ms since the epoch. */
export function applySlotEvent(prev: SlotState, ev: SlotEvent, now: number): SlotState {
  switch (ev.type) {
    case 'state': {
      const startedAt = prev.startedAt ?? now;
      if (isStep(ev.to)) {
        return {
          ...prev,
          phase: 'running',
          startedAt,
          step: ev.to,
          steps: advanceTo(prev.steps, ev.to, 0),
        };
      }
      if (ev.to === 'aborting')
        return { ...prev, phase: 'running', startedAt, log: withLog(prev.log, 'aborting') };
      return prev; // passed/failed arrive with their own events carrying the details.
    }
    case 'progress':
      return {
        ...prev,
        phase: 'running',
        startedAt: prev.startedAt ?? now,
        step: ev.step,
        steps: advanceTo(prev.steps, ev.step, ev.stepPercent),
      };
    case 'identified':
      return {
        ...prev,
        ids: {
          imei: ev.identity.imei,
          iccid: ev.identity.iccid,
          mcuUid: ev.identity.mcuUid,
          deviceId: ev.identity.deviceId,
        },
        log: withLog(prev.log, `identified ${ev.identity.modemModel} ${ev.identity.mcuFamily}`),
      };
    case 'log':
      return { ...prev, log: withLog(prev.log, `${ev.level}: ${ev.message}`) };
    case 'pass':
      return {
        ...prev,
        phase: 'pass',
        step: null,
        steps: prev.steps.map((s) =>
          s.state === 'pending' && s.name === 'readout-protect'
            ? s
            : { ...s, percent: 100, state: 'done' },
        ),
        ids: {
          imei: ev.result.identity.imei,
          iccid: ev.result.identity.iccid,
          mcuUid: ev.result.identity.mcuUid,
          deviceId: ev.result.identity.deviceId,
        },
        failure: null,
        finishedAt: now,
      };
    case 'fail': {
      const failure: ContractFailure = {
        step: ev.failure.step,
        code: ev.failure.code,
        // The tile already says which slot and port; keep the part that says what went wrong.
        message: ev.failure.reason.replace(/^slot \S+ \([^)]*\):? /, ''),
        deviceAnswer: ev.failure.deviceAnswered ?? null,
      };
      return {
        ...prev,
        phase: 'fail',
        step: null,
        steps: prev.steps.map((s) =>
          s.name === ev.failure.step
            ? { ...s, state: 'failed' }
            : s.state === 'running'
              ? { ...s, state: 'pending' }
              : s,
        ),
        failure,
        finishedAt: now,
        log: withLog(prev.log, `FAIL at ${failure.step}: ${failure.message}`),
      };
    }
    default: {
      const never: never = ev;
      return never;
    }
  }
}
