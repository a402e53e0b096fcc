/**
 * Runs one batch at a time on the assigned slots and keeps the contract's BatchState up
 * to date from the pipeline's events: per-slot tiles, throughput, stop and re-run.
 */
import { randomUUID } from 'node:crypto';
import type { BatchEvent } from '../../contract/channels.ts';
import type { BatchState, SlotAssignment, SlotState } from '../../contract/types.ts';
import type { PipelineEvent } from '../pipeline/events.ts';
import { PROVISION_STEPS } from '../pipeline/state-machine.ts';
import { StationAppError } from './errors.ts';
import { applySlotEvent, pipelineSlotName, queuedSlot } from './slot-model.ts';
import { computeThroughput, type FinishedBoard } from './throughput.ts';

/** What the controller needs from a pipeline batch runner. */
export interface SlotRunner {
  run(
    slots: { slot: string; modemPort: string; mcuPort: string }[],
    signal: AbortSignal,
  ): Promise<unknown>;
  runSlot(
    slot: { slot: string; modemPort: string; mcuPort: string },
    signal: AbortSignal,
  ): Promise<unknown>;
}

/** Opens a runner for a new batch (the session knows the station, profile and ledger). */
export interface RunnerSource {
  openRunner(
    batchId: string,
    onEvent: (ev: PipelineEvent) => void,
  ): Promise<{ runner: SlotRunner; profile: string }>;
}

/** Lets the controller tell the virtual fixture a slot is about to (re)run. */
export interface FixtureHooks {
  /** Before a batch: simulated slots whose board is done get a fresh one (new ports). */
  prepareBatch(slots: readonly SlotAssignment[]): Promise<SlotAssignment[]>;
  /** Before a slot is re-run: a simulated slot gets a fresh board; its new ports, or null. */
  beforeRerun(slot: number): Promise<SlotAssignment | null>;
}

const stopTimeoutMs = 60_000;
/** Minimum spacing of progress-only updates per slot sent to the views. */
const progressIntervalMs = 100;

export class BatchController {
  private current: BatchState = BatchController.empty();
  private runner: SlotRunner | null = null;
  private abort: AbortController | null = null;
  private inflight = new Set<Promise<unknown>>();
  private finished = new Map<number, FinishedBoard[]>();
  private readonly throttle = new Map<number, { last: number; timer: NodeJS.Timeout | null }>();

  constructor(
    private readonly source: RunnerSource,
    private readonly fixture: FixtureHooks,
    private readonly emit: (ev: BatchEvent) => void,
    private readonly log: (line: string) => void,
  ) {}

  private static empty(): BatchState {
    return {
      id: null,
      steps: [...PROVISION_STEPS],
      running: false,
      profile: null,
      startedAt: null,
      slots: [],
      stats: computeThroughput(null, [], Date.now()),
    };
  }

  get running(): boolean {
    return this.inflight.size > 0;
  }

  /** Whether `slot` is queued or running in the current batch. */
  slotBusy(slot: number): boolean {
    const s = this.current.slots.find((x) => x.slot === slot);
    return !!s && this.running && (s.phase === 'running' || s.phase === 'queued');
  }

  state(): BatchState {
    return { ...this.current, running: this.running, stats: this.stats() };
  }

  private stats() {
    return computeThroughput(
      this.current.startedAt,
      [...this.finished.values()].flat(),
      Date.now(),
    );
  }

  private slotNumber(name: string): number | null {
    const n = Number(name);
    return Number.isInteger(n) && this.current.slots.some((s) => s.slot === n) ? n : null;
  }

  private onEvent(batchId: string, ev: PipelineEvent): void {
    if (this.current.id !== batchId) return;
    if (!('slot' in ev) || typeof ev.slot !== 'string') return;
    const n = this.slotNumber(ev.slot);
    if (n === null) return;
    const now = Date.now();
    let updated: SlotState | null = null;
    this.current = {
      ...this.current,
      slots: this.current.slots.map((s) =>
        s.slot === n ? (updated = applySlotEvent(s, ev, now)) : s,
      ),
    };
    if (ev.type === 'pass' || ev.type === 'fail') {
      const list = this.finished.get(n) ?? [];
      list.push({
        finishedAt: now,
        passed: ev.type === 'pass',
        step: ev.type === 'fail' ? ev.failure.step : null,
      });
      this.finished.set(n, list);
      this.log(
        `slot ${n}: ${ev.type === 'pass' ? 'PASS' : `FAIL at ${ev.failure.step} (${ev.failure.code})`}`,
      );
    }
    if (!updated) return;
    // Progress can arrive per kilobyte on many slots: send at most one per slot per
    // interval (the latest wins); every other event goes out at once.
    if (ev.type === 'progress') this.emitThrottled(batchId, n);
    else this.emitSlot(batchId, n);
  }

  private emitSlot(batchId: string, n: number): void {
    const pending = this.throttle.get(n);
    if (pending?.timer) clearTimeout(pending.timer);
    this.throttle.set(n, { last: Date.now(), timer: null });
    const slot = this.current.slots.find((s) => s.slot === n);
    if (slot && this.current.id === batchId) {
      this.emit({ kind: 'slot', batchId, slot, stats: this.stats() });
    }
  }

  private emitThrottled(batchId: string, n: number): void {
    const t = this.throttle.get(n);
    const wait = t ? t.last + progressIntervalMs - Date.now() : 0;
    if (wait <= 0) return this.emitSlot(batchId, n);
    if (t?.timer) return;
    const timer = setTimeout(() => this.emitSlot(batchId, n), wait);
    timer.unref();
    this.throttle.set(n, { last: t?.last ?? 0, timer });
  }

  private clearThrottle(): void {
    for (const t of this.throttle.values()) if (t.timer) clearTimeout(t.timer);
    this.throttle.clear();
  }

  private track(p: Promise<unknown>): void {
    const tracked = p
      .catch((e: unknown) => {
        // The runner itself failed (not a slot): no slot may be left looking busy.
        const message = (e as Error).message.split('\n')[0];
        this.log(`batch: runner failed: ${message}`);
        this.current = {
          ...this.current,
          slots: this.current.slots.map((s) =>
            s.phase === 'running' || s.phase === 'queued'
              ? {
                  ...s,
                  phase: 'fail',
                  failure: {
                    step: s.step ?? 'start',
                    code: 'internal',
                    message,
                    deviceAnswer: null,
                  },
                  finishedAt: Date.now(),
                }
              : s,
          ),
        };
      })
      .finally(() => {
        this.inflight.delete(tracked);
        if (this.inflight.size === 0) this.emit({ kind: 'batch', state: this.state() });
      });
    this.inflight.add(tracked);
  }

  async start(slots: SlotAssignment[]): Promise<BatchState> {
    if (this.running) throw new StationAppError('batch-running', 'a batch is already running');
    slots = await this.fixture.prepareBatch(slots);
    const id = `batch-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const { runner, profile } = await this.source.openRunner(id, (ev) => this.onEvent(id, ev));
    this.runner = runner;
    this.abort = new AbortController();
    this.finished = new Map();
    this.clearThrottle();
    this.current = {
      id,
      steps: [...PROVISION_STEPS],
      running: true,
      profile,
      startedAt: Date.now(),
      slots: slots.map((s) => queuedSlot(s.slot, s.modemPort, s.mcuPort)),
      stats: computeThroughput(null, [], Date.now()),
    };
    this.log(`batch ${id}: started on ${slots.length} slots`);
    const configs = slots.map((s) => ({
      slot: pipelineSlotName(s.slot),
      modemPort: s.modemPort,
      mcuPort: s.mcuPort,
    }));
    this.track(runner.run(configs, this.abort.signal));
    const state = this.state();
    this.emit({ kind: 'batch', state });
    return state;
  }

  async rerun(slot: number): Promise<BatchState> {
    const s = this.current.slots.find((x) => x.slot === slot);
    if (!this.runner || !this.current.id || !s)
      throw new StationAppError('no-batch', `slot ${slot} is not part of the current batch`, {
        slot,
      });
    if (s.phase !== 'fail' && s.phase !== 'stopped') {
      throw new StationAppError(
        'invalid-input',
        `slot ${slot} did not fail; only failed slots are re-run`,
        { slot, phase: s.phase },
      );
    }
    if (!this.abort || this.abort.signal.aborted) this.abort = new AbortController();
    if (this.slotBusy(slot))
      throw new StationAppError('batch-running', `slot ${slot} is running`, { slot });
    const fresh = await this.fixture.beforeRerun(slot);
    const modemPort = fresh?.modemPort ?? s.modemPort;
    const mcuPort = fresh?.mcuPort ?? s.mcuPort;
    this.current = {
      ...this.current,
      slots: this.current.slots.map((x) =>
        x.slot === slot ? queuedSlot(slot, modemPort, mcuPort) : x,
      ),
    };
    this.log(`batch ${this.current.id}: re-running slot ${slot}`);
    this.track(
      this.runner.runSlot({ slot: pipelineSlotName(slot), modemPort, mcuPort }, this.abort.signal),
    );
    const state = this.state();
    this.emit({ kind: 'batch', state });
    return state;
  }

  /** Cancels every running slot and waits (bounded) for them to wind down. */
  async stop(): Promise<BatchState> {
    if (!this.running) return this.state();
    this.abort?.abort(new Error('stopped by the operator'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inflight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.clearThrottle();
    this.current = {
      ...this.current,
      slots: this.current.slots.map((s) =>
        s.phase === 'running' || s.phase === 'queued' ? { ...s, phase: 'stopped' } : s,
      ),
    };
    this.log(`batch ${this.current.id}: stopped`);
    const state = this.state();
    this.emit({ kind: 'batch', state });
    return state;
  }
}
