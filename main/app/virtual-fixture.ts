/**
 * The "virtual fixture" option: N simulated boards (modem + STM32 bootloader on PTYs) the
 * station can provision without hardware, with fault injection per slot.
 */
import type { SlotAssignment, VirtualFixtureInfo } from '../../contract/types.ts';
import type { FixtureHooks } from './batch-controller.ts';
import { StationAppError } from './errors.ts';

export class VirtualFixture implements FixtureHooks {
  private slots: SlotAssignment[] = [];

  constructor(
    private readonly log: (line: string) => void,
    private readonly baud = 921600,
  ) {}

  info(): VirtualFixtureInfo {
    return { running: this.slots.length > 0, slots: this.slots, faults: [] };
  }

  async start(_count: number): Promise<VirtualFixtureInfo> {
    void this.baud;
    void this.log;
    throw new StationAppError('unavailable', 'the virtual fixture is not available in this build');
  }

  /** A re-run gets the same simulated board back, with any injected fault cleared. */
  async beforeRerun(_slot: number): Promise<void> {}

  async stop(): Promise<VirtualFixtureInfo> {
    this.slots = [];
    return this.info();
  }

  async injectFault(slot: number, _fault: string): Promise<VirtualFixtureInfo> {
    throw new StationAppError('fixture-not-running', `slot ${slot} is not simulated`, { slot });
  }
}
