import type { ProductProfile } from '../profile/schema.ts';
import { HOUR_MS, IssuanceBudget, type CapDecision, type IssuanceCaps } from './caps.ts';
import { HardwareClaims } from './duplicates.ts';
import type { BatchEvent, PipelineEvent, SlotFailure, SlotSuccess } from './events.ts';
import { StepJournal } from './journal.ts';
import type { AuditHook, BlobEncoder, BoardConnector, DeviceIssuer, LedgerPort } from './ports.ts';
import { SlotSpecError } from './slot-spec.ts';
import { provisionSlot, type SlotConfig, type SlotOutcome } from './slot.ts';

export interface BatchRunnerOptions {
  profile: ProductProfile;
  serverCaPem: string;
  batch: string;
  /** Work order the batch belongs to; its cap (profile caps.perWorkOrder) spans its batches. */
  workOrder?: string;
  operator: string;
  /** Explicit re-provision: revoke the old certificates of boards already committed. */
  reprovision?: boolean;
  ledger: LedgerPort;
  issuer: DeviceIssuer;
  board: BoardConnector;
  encodeBlob: BlobEncoder;
  /** Folder for the crash step journal (inside the station directory). */
  journalDir: string;
  audit?: AuditHook;
  onEvent?: (event: PipelineEvent) => void;
}

export interface BatchResult {
  batch: string;
  passed: SlotSuccess[];
  failed: SlotFailure[];
  recovered: Array<Extract<BatchEvent, { type: 'recovered' }>>;
  elapsedMs: number;
}

/**
 * Drives many slots at once on one event loop (the line is wire-bound; key generation and
 * signing take milliseconds). Owns what slots share: the issuance budget (caps counted
 * from the ledger), the in-flight hardware ID claims and the crash journal. On open it
 * closes the intents a crashed run left behind, so those boards provision normally.
 */
export class BatchRunner {
  private readonly claims = new HardwareClaims();
  private readonly journal: StepJournal;
  private recovered: Array<Extract<BatchEvent, { type: 'recovered' }>> = [];
  private budget!: IssuanceBudget;
  /** Refusal records being written; a slot's outcome is reported after its refusal is durable. */
  private readonly refusals = new Set<Promise<unknown>>();

  private constructor(private readonly opts: BatchRunnerOptions) {
    this.journal = new StepJournal(opts.journalDir);
  }

  /**
   * Recovers orphaned intents, starts the batch in the ledger (a `batch-start` record with
   * the profile's caps and a signed checkpoint; a batch already started keeps its recorded
   * caps), then seeds the budget from the ledger's intents.
   */
  static async open(opts: BatchRunnerOptions): Promise<BatchRunner> {
    const journal = new StepJournal(opts.journalDir);
    const recovered = await recoverOrphanedIntents(opts.ledger, journal, opts.onEvent);
    const { caps } = await opts.ledger.startBatch({
      batch: opts.batch,
      ...(opts.workOrder !== undefined ? { workOrder: opts.workOrder } : {}),
      profile: opts.profile.name,
      operator: opts.operator,
      requested: opts.profile.caps,
    });
    const runner = new BatchRunner(opts);
    runner.budget = new IssuanceBudget(
      caps,
      await opts.ledger.issuanceEntries(opts.batch, Date.now() - HOUR_MS, opts.workOrder),
      Date.now,
      {
        ...(opts.workOrder !== undefined ? { workOrder: opts.workOrder } : {}),
        onRefused: (batch, d) => runner.recordRefusal(batch, d),
      },
    );
    runner.recovered = recovered;
    return runner;
  }

  /** The caps this batch runs under (from its ledger batch-start and any recorded raises). */
  get caps(): IssuanceCaps {
    return this.budget.caps;
  }

  private recordRefusal(batch: string, d: Extract<CapDecision, { allowed: false }>): void {
    const p = this.opts.ledger
      .recordCapRefusal({
        cap: d.cap,
        limit: d.limit,
        count: d.count,
        batch,
        ...(this.opts.workOrder !== undefined ? { workOrder: this.opts.workOrder } : {}),
        operator: this.opts.operator,
        message: d.message,
      })
      // The refusal holds whether or not its record could be written.
      .catch(() => undefined)
      .finally(() => this.refusals.delete(p));
    this.refusals.add(p);
  }

  private async settleRefusals(): Promise<void> {
    while (this.refusals.size > 0) await Promise.all([...this.refusals]);
  }

  get batch(): string {
    return this.opts.batch;
  }

  /** Provisions one slot (also used to re-run a failed slot). Never throws. */
  async runSlot(config: SlotConfig, signal: AbortSignal): Promise<SlotOutcome> {
    const emit = this.opts.onEvent ?? (() => {});
    const outcome = await provisionSlot(
      config,
      {
        profile: this.opts.profile,
        serverCaPem: this.opts.serverCaPem,
        batch: this.opts.batch,
        operator: this.opts.operator,
        reprovision: this.opts.reprovision ?? false,
        ledger: this.opts.ledger,
        issuer: this.opts.issuer,
        board: this.opts.board,
        encodeBlob: this.opts.encodeBlob,
        budget: this.budget,
        claims: this.claims,
        journal: this.journal,
        ...(this.opts.audit ? { audit: this.opts.audit } : {}),
        emit,
      },
      signal,
    );
    await this.settleRefusals();
    return outcome;
  }

  /** Runs every slot concurrently and waits for all of them. */
  async run(slots: readonly SlotConfig[], signal: AbortSignal): Promise<BatchResult> {
    const started = Date.now();
    const names = slots.map((s) => s.slot);
    if (new Set(names).size !== names.length)
      throw new SlotSpecError(names.join(', '), 'slot names must be unique');
    const emit = this.opts.onEvent ?? (() => {});
    emit({
      type: 'batch-start',
      batch: this.opts.batch,
      slots: names,
      profile: this.opts.profile.name,
    });
    const outcomes = await Promise.all(slots.map((s) => this.runSlot(s, signal)));
    const passed = outcomes.flatMap((o) => (o.ok ? [o.result] : []));
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [o.failure]));
    const elapsedMs = Date.now() - started;
    emit({
      type: 'batch-end',
      batch: this.opts.batch,
      passed: passed.length,
      failed: failed.length,
      elapsedMs,
    });
    const recovered = this.recovered;
    this.recovered = [];
    return { batch: this.opts.batch, passed, failed, recovered, elapsedMs };
  }
}

/**
 * Closes every intent that has neither commit nor abort with an abort record "station
 * crashed during <step>" listing its serials (so the export's CRL revokes them). Must run
 * before any slot starts: then every open intent is a dead run's.
 */
export async function recoverOrphanedIntents(
  ledger: LedgerPort,
  journal: StepJournal,
  onEvent?: (event: PipelineEvent) => void,
): Promise<Array<Extract<BatchEvent, { type: 'recovered' }>>> {
  const out: Array<Extract<BatchEvent, { type: 'recovered' }>> = [];
  const open = await ledger.openIntents();
  await journal.sweep(new Set(open.map((o) => o.index)));
  for (const { index, record } of open) {
    // Reads the journal before writing so the reason names the step the dead run was in.
    const step = (await journal.lastStep(index)) ?? 'an unknown step';
    const serials = [record.certificates.modem.serialHex, record.certificates.mcu.serialHex];
    const { index: abortIndex } = await ledger.append({
      type: 'abort',
      intentIndex: index,
      deviceId: record.deviceId,
      step: step === 'an unknown step' ? 'recovery' : step,
      reason: `station crashed during ${step} (intent #${index}, slot ${record.slot}, batch ${record.batch}); closed on restart`,
      revokeSerialsHex: serials,
    });
    await journal.forget(index);
    const ev = {
      type: 'recovered' as const,
      intentIndex: index,
      abortIndex,
      deviceId: record.deviceId,
      crashedDuring: step,
      revokedSerials: serials,
    };
    out.push(ev);
    onEvent?.(ev);
  }
  return out;
}
