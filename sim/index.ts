/** The virtual fixture's public surface: simulators, fault specs and the fixture itself. */
export * from './stm32/index.ts';
export * from './modem/index.ts';
export { FaultPlan, FaultSpecError, parseFaultSpec, type SlotFaults } from './faults.ts';
export {
  FixtureError,
  boardIds,
  startFixture,
  type BoardIds,
  type Fixture,
  type FixtureOptions,
  type FixtureSlot,
  type PerSlot,
} from './fixture.ts';
export { createPtyPair, PtyError, type PtyPair } from './pty.ts';
