/**
 * The "virtual fixture" option: N simulated boards (an EC25 modem and an STM32F4 ROM
 * bootloader per slot, on PTYs) so the station can be tried without hardware. Each slot
 * is its own simulator, so one slot can get a fresh board — with or without an injected
 * fault — while the others keep theirs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlotAssignment, VirtualFixtureInfo } from '../../contract/types.ts';
import type { startFixture } from '../../sim/index.ts';
import type { FixtureHooks } from './batch-controller.ts';
import { StationAppError } from './errors.ts';

/** Faults an operator can inject, by name, in the simulator's fault grammar (sim/README.md). */
export const virtualFaults: Readonly<Record<string, string>> = {
  'upload-cme-409': 'modem.cme=AT+QFUPL/409',
  'iccid-error': 'modem.error=AT+QCCID',
  'upload-corrupt': 'modem.corrupt-upload=10',
  'modem-unplug': 'modem.unplug=AT+QFUPL@300',
  'mcu-write-nack': 'mcu.nack-write=1+',
  'mcu-readback-corrupt': 'mcu.corrupt-read=5#1',
};

type Fixture = Awaited<ReturnType<typeof startFixture>>;

interface SimSlot {
  fixture: Fixture;
  assignment: SlotAssignment;
  /** The board went through a run: the next run gets a fresh one. */
  used: boolean;
  /** The fault loaded for the board's next run, if any. */
  fault: string | null;
}

/** The simulators load only when the operator asks for a virtual fixture. */
async function loadStartFixture(): Promise<typeof startFixture> {
  return (await import('../../sim/index.ts')).startFixture;
}

export interface VirtualFixtureOptions {
  /** Simulated UART speed (default 115200, what the demo profile expects on a PTY). */
  baud?: number;
  /** Scales the simulators' modelled module latencies (1 = realistic). */
  latencyScale?: number;
}

export class VirtualFixture implements FixtureHooks {
  private root: string | null = null;
  private readonly slots = new Map<number, SimSlot>();
  private generation = 0;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: (line: string) => void,
    private readonly opts: VirtualFixtureOptions = {},
    /** Called whenever boards (and so ports) change. */
    private readonly onChange: (info: VirtualFixtureInfo) => void = () => {},
  ) {}

  info(): VirtualFixtureInfo {
    const slots = [...this.slots.values()].map((s) => s.assignment).sort((a, b) => a.slot - b.slot);
    return { running: slots.length > 0, slots, faults: Object.keys(virtualFaults) };
  }

  isVirtual(slot: number): boolean {
    return this.slots.has(slot);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Starts one simulator for `slot` (a fresh board: new IDs) with an optional fault. */
  private async spawn(slot: number, fault: string | null): Promise<SimSlot> {
    const root = this.root as string;
    this.generation++;
    const startFixture = await loadStartFixture();
    const fixture = await startFixture({
      slots: 1,
      dir: join(root, `slot-${slot}-${this.generation}`),
      seed: slot * 100_003 + this.generation * 7919 + (Date.now() % 100_000),
      latencyScale: this.opts.latencyScale ?? 0.2,
      baud: this.opts.baud ?? 115200,
      mcuBaud: this.opts.baud ?? 115200,
      modemModel: 'EC25',
      mcuFamily: 'F4',
      ...(fault ? { faults: `1:${virtualFaults[fault]}` } : {}),
    });
    const s = fixture.slots[0];
    return {
      fixture,
      assignment: { slot, modemPort: s.modemPort, mcuPort: s.mcuPort },
      used: false,
      fault,
    };
  }

  /** Swaps the board in `slot` for a fresh one; the ports change. */
  private async replace(slot: number, fault: string | null): Promise<void> {
    const old = this.slots.get(slot);
    if (!old)
      throw new StationAppError('fixture-not-running', `slot ${slot} is not simulated`, { slot });
    this.slots.delete(slot);
    await old.fixture.stop();
    this.slots.set(slot, await this.spawn(slot, fault));
    this.onChange(this.info());
  }

  start(count: number): Promise<VirtualFixtureInfo> {
    return this.exclusive(async () => {
      if (this.slots.size > 0)
        throw new StationAppError('already-exists', 'the virtual fixture is already running');
      this.root = await mkdtemp(join(tmpdir(), 'keyline-virtual-fixture-'));
      try {
        for (let n = 1; n <= count; n++) this.slots.set(n, await this.spawn(n, null));
      } catch (e) {
        await this.stopAll();
        throw e;
      }
      this.log(`fixture: ${count} simulated boards in ${this.root}`);
      return this.info();
    });
  }

  stop(): Promise<VirtualFixtureInfo> {
    return this.exclusive(async () => {
      await this.stopAll();
      return this.info();
    });
  }

  private async stopAll(): Promise<void> {
    const all = [...this.slots.values()];
    this.slots.clear();
    await Promise.allSettled(all.map((s) => s.fixture.stop()));
    if (this.root) await rm(this.root, { recursive: true, force: true });
    if (all.length) this.log('fixture: stopped');
    this.root = null;
  }

  /** Loads a fresh board with `fault` into `slot`; it shows on the slot's next run. */
  injectFault(slot: number, fault: string): Promise<VirtualFixtureInfo> {
    if (!(fault in virtualFaults)) {
      throw new StationAppError('invalid-input', `unknown fault "${fault}"`, {
        fault: fault.slice(0, 64),
      });
    }
    return this.exclusive(async () => {
      await this.replace(slot, fault);
      this.log(`fixture: slot ${slot} has a new board with fault ${fault}`);
      return this.info();
    });
  }

  /**
   * Before a batch: the operator loads new boards where the previous ones were done with.
   * Returns the (possibly changed) assignments of the given slots.
   */
  prepareBatch(slots: readonly SlotAssignment[]): Promise<SlotAssignment[]> {
    return this.exclusive(async () => {
      const out: SlotAssignment[] = [];
      for (const a of slots) {
        const sim = this.slots.get(a.slot);
        // A port under the fixture's folder names this slot's board, even an older one.
        if (!sim || !this.root || !a.modemPort.startsWith(this.root)) {
          out.push(a);
          continue;
        }
        if (sim.used) await this.replace(a.slot, null);
        const now = this.slots.get(a.slot) as SimSlot;
        now.used = true;
        out.push(now.assignment);
      }
      return out;
    });
  }

  /** A re-run gets a fresh, fault-free board in the slot. */
  beforeRerun(slot: number): Promise<SlotAssignment | null> {
    if (!this.slots.has(slot)) return Promise.resolve(null);
    return this.exclusive(async () => {
      await this.replace(slot, null);
      const now = this.slots.get(slot) as SimSlot;
      now.used = true;
      return now.assignment;
    });
  }
}
