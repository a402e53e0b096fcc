/**
 * The provisioning pipeline: per-slot state machine, batch runner with issuance caps and
 * crash recovery, typed progress events, and the line assembly the CLI, the demo and the
 * UI share. See docs/operator-guide.md.
 */
export {
  PROVISION_STEPS,
  STEP_WEIGHTS,
  TRANSITIONS,
  SlotStateMachine,
  IllegalTransitionError,
  canTransition,
  isTerminal,
  totalPercent,
  type ProvisionStep,
  type SlotState,
} from './state-machine.ts';
export type {
  BatchEvent,
  PipelineEvent,
  SlotEvent,
  SlotFailure,
  SlotIdentity,
  SlotSuccess,
} from './events.ts';
export {
  HOUR_MS,
  IssuanceBudget,
  checkIssuanceCap,
  countIssuances,
  type CapDecision,
  type IssuanceCaps,
  type IssuanceCounts,
  type IssuanceEntry,
} from './caps.ts';
export {
  checkDuplicate,
  matchingIds,
  HardwareClaims,
  type DuplicateDecision,
} from './duplicates.ts';
export { StepRefusedError, SlotTimeoutError, describeFailure } from './errors.ts';
export { provisionSlot, type SlotConfig, type SlotEnvironment, type SlotOutcome } from './slot.ts';
export {
  BatchRunner,
  recoverOrphanedIntents,
  type BatchResult,
  type BatchRunnerOptions,
} from './runner.ts';
export { StepJournal } from './journal.ts';
export type * from './ports.ts';
export {
  openProvisioningLine,
  newBatchId,
  journalDirIn,
  type OpenLineOptions,
  type ProvisioningLine,
  type UnlockedStation,
} from './line.ts';
export { unlockStation, lineStation, type LineStation } from './station.ts';
export { parseSlotSpecs, SlotSpecError } from './slot-spec.ts';
export {
  createProgressView,
  plainLine,
  viewModeFor,
  type ProgressView,
  type ViewMode,
} from './progress-view.ts';
export {
  certsIssuer,
  credentialBlobEncoder,
  ledgerPort,
  serialBoardConnector,
} from './adapters/index.ts';
