/**
 * The per-slot provisioning state machine as data: the ordered steps, their progress
 * weights, and the table of allowed transitions. The pipeline moves only through
 * `SlotStateMachine.to()`, so a transition missing from the table is a defect caught at
 * the moment it happens, not a silently skipped step (a commit before the MCU was
 * verified, say).
 */

/** The work steps of one board, in order. */
export const PROVISION_STEPS = [
  'identify',
  'duplicate-check',
  'intent',
  'issue',
  'modem-write',
  'audit',
  'mcu-write',
  'readout-protect',
  'commit',
  'zeroize',
] as const;

export type ProvisionStep = (typeof PROVISION_STEPS)[number];

/** Every state a slot can be in: idle, one of the steps, or one of the ending states. */
export type SlotState = 'idle' | ProvisionStep | 'aborting' | 'passed' | 'failed';

/**
 * Relative time each step takes on a typical line, used to turn step progress into an
 * overall percentage. The writes dominate: they are wire-bound at the UART's baud rate.
 */
export const STEP_WEIGHTS: Readonly<Record<ProvisionStep, number>> = {
  identify: 6,
  'duplicate-check': 1,
  intent: 2,
  issue: 2,
  'modem-write': 45,
  audit: 2,
  'mcu-write': 36,
  'readout-protect': 2,
  commit: 2,
  zeroize: 2,
};

/**
 * Allowed transitions. Before the intent is durable nothing has been issued, so a failure
 * goes straight to `failed`; from the intent on, every failure passes through `aborting`
 * (abort record, serials to revoke, zeroize). `zeroize` after the commit is the only way
 * to `passed`.
 */
export const TRANSITIONS: Readonly<Record<SlotState, readonly SlotState[]>> = {
  idle: ['identify', 'failed'],
  identify: ['duplicate-check', 'failed'],
  'duplicate-check': ['intent', 'failed'],
  // The intent step ends with the record durable: from then on failures must abort it.
  intent: ['issue', 'failed', 'aborting'],
  issue: ['modem-write', 'aborting'],
  'modem-write': ['audit', 'aborting'],
  audit: ['mcu-write', 'aborting'],
  'mcu-write': ['readout-protect', 'commit', 'aborting'],
  'readout-protect': ['commit', 'aborting'],
  commit: ['zeroize', 'aborting'],
  zeroize: ['passed'],
  aborting: ['failed'],
  passed: [],
  failed: [],
};

export function canTransition(from: SlotState, to: SlotState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: SlotState): boolean {
  return state === 'passed' || state === 'failed';
}

export function isStep(state: SlotState): state is ProvisionStep {
  return (PROVISION_STEPS as readonly string[]).includes(state);
}

/** A transition the table does not allow: always a defect in the pipeline, never an operator error. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly slot: string,
    readonly from: SlotState,
    readonly to: SlotState,
  ) {
    super(`slot ${slot}: illegal transition ${from} → ${to}`);
  }
}

/**
 * Overall percentage (0–100) for being `stepPercent` % through `step`, with the steps
 * before it complete. Weights of skipped steps still count as done once passed, so the
 * bar never moves backwards.
 */
export function totalPercent(step: ProvisionStep, stepPercent: number): number {
  const total = PROVISION_STEPS.reduce((s, k) => s + STEP_WEIGHTS[k], 0);
  let done = 0;
  for (const k of PROVISION_STEPS) {
    if (k === step) break;
    done += STEP_WEIGHTS[k];
  }
  const frac = Math.min(100, Math.max(0, stepPercent)) / 100;
  return Math.round(((done + STEP_WEIGHTS[step] * frac) / total) * 1000) / 10;
}

/** The current state of one slot plus the history needed for crash reports and failures. */
export class SlotStateMachine {
  private current: SlotState = 'idle';
  /** The last work step entered: the step a failure is attributed to. */
  private lastStep: ProvisionStep | undefined;
  private readonly onChange: (from: SlotState, to: SlotState) => void;

  constructor(
    readonly slot: string,
    onChange: (from: SlotState, to: SlotState) => void = () => {},
  ) {
    this.onChange = onChange;
  }

  get state(): SlotState {
    return this.current;
  }

  /** The work step the slot is in or last was in before aborting. */
  get step(): ProvisionStep | undefined {
    return this.lastStep;
  }

  to(next: SlotState): void {
    if (!canTransition(this.current, next))
      throw new IllegalTransitionError(this.slot, this.current, next);
    const from = this.current;
    this.current = next;
    if (isStep(next)) this.lastStep = next;
    this.onChange(from, next);
  }
}
