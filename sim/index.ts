/** The virtual fixture's public surface: simulators, fault specs and the fixture itself. */
export * from './stm32/index.ts';
