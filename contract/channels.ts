/**
 * Channel names and the request/response/event type map shared by main, preload and
 * renderer. This module holds no runtime dependency beyond two constant lists, so the
 * sandboxed preload can bundle it without pulling zod in.
 */
import type { z } from 'zod';
import type { requestSchemas } from './schemas.ts';
import type {
  BatchState,
  ExportProgress,
  ExportResult,
  FixtureLayout,
  LedgerDeviceDetail,
  LedgerHit,
  SerialPortInfo,
  SlotState,
  StationStatus,
  ThroughputStats,
  VirtualFixtureInfo,
} from './types.ts';

/** Renderer → main calls, each answered with a Result. */
export const requestChannels = [
  'station:status',
  'station:open',
  'station:create',
  'station:import-ca',
  'station:unlock',
  'station:lock',
  'profile:select',
  'ports:list',
  'layout:list',
  'layout:save',
  'layout:load',
  'fixture:start-virtual',
  'fixture:stop-virtual',
  'fixture:status',
  'fixture:inject-fault',
  'batch:start',
  'batch:stop',
  'batch:rerun',
  'batch:state',
  'ledger:search',
  'ledger:device',
  'ledger:revoke',
  'ledger:export',
] as const satisfies readonly (keyof typeof requestSchemas)[];

/**
 * What a watch-only view (a supervisor over the bridge) may call: reads, never changes.
 * Everything else is refused with `forbidden`.
 */
export const watchChannels = [
  'station:status',
  'ports:list',
  'layout:list',
  'layout:load',
  'fixture:status',
  'batch:state',
  'ledger:search',
  'ledger:device',
] as const satisfies readonly RequestChannel[];

/** Main → renderer notifications. */
export const eventChannels = [
  'batch:event',
  'ledger:export-progress',
  'station:changed',
  'fixture:changed',
] as const;

export type RequestChannel = (typeof requestChannels)[number];
export type EventChannel = (typeof eventChannels)[number];

export type RequestOf<C extends RequestChannel> = z.infer<(typeof requestSchemas)[C]>;

export interface ResponseMap {
  'station:status': StationStatus;
  'station:open': StationStatus;
  'station:create': StationStatus;
  'station:import-ca': StationStatus;
  'station:unlock': StationStatus;
  'station:lock': StationStatus;
  'profile:select': StationStatus;
  'ports:list': SerialPortInfo[];
  'layout:list': FixtureLayout[];
  'layout:save': FixtureLayout;
  'layout:load': FixtureLayout;
  'fixture:start-virtual': VirtualFixtureInfo;
  'fixture:stop-virtual': VirtualFixtureInfo;
  'fixture:status': VirtualFixtureInfo;
  'fixture:inject-fault': VirtualFixtureInfo;
  'batch:start': BatchState;
  'batch:stop': BatchState;
  'batch:rerun': BatchState;
  'batch:state': BatchState;
  'ledger:search': LedgerHit[];
  'ledger:device': LedgerDeviceDetail;
  'ledger:revoke': LedgerDeviceDetail;
  'ledger:export': ExportResult;
}

export type ResponseOf<C extends RequestChannel> = ResponseMap[C];

/** A slot changed (step, progress, IDs, PASS/FAIL) or the batch as a whole did. */
export type BatchEvent =
  | { kind: 'slot'; batchId: string; slot: SlotState; stats: ThroughputStats }
  | { kind: 'batch'; state: BatchState };

export interface EventMap {
  'batch:event': BatchEvent;
  'ledger:export-progress': ExportProgress;
  'station:changed': StationStatus;
  'fixture:changed': VirtualFixtureInfo;
}

export type EventOf<E extends EventChannel> = EventMap[E];

export function isRequestChannel(name: unknown): name is RequestChannel {
  return typeof name === 'string' && (requestChannels as readonly string[]).includes(name);
}

export function isEventChannel(name: unknown): name is EventChannel {
  return typeof name === 'string' && (eventChannels as readonly string[]).includes(name);
}
