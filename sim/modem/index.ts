/**
 * The Quectel modem simulator (EC25 / BG96 / M66) used by the virtual fixture, tests and
 * benchmarks. It implements protocols.md on its own; it shares no protocol code with
 * main/modem.
 */
export { ModemSimulator, type UrcTiming } from './simulator.ts';
export {
  ModemSimError,
  ModemStateFileError,
  type ModemFault,
  type ModemLatencyProfile,
  type ModemModel,
  type ModemPersonality,
  type ModemSimOptions,
  type ModemSimStats,
  type ModemStorage,
} from './types.ts';
export { readModemState, type ModemState, type SslSetting } from './state-file.ts';
export { defaultLatencyProfile } from './latency.ts';
export { quectelChecksum, formatChecksum } from './checksum.ts';
