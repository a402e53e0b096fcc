/**
 * The station service behind the contract: one handler per request channel, wired to
 * the domain (station, profiles, pipeline, ledger, virtual fixture). Both transports —
 * Electron IPC and the loopback bridge — call these handlers through the same dispatcher.
 */
import { createDispatcher, type Dispatch, type Handlers } from './dispatch.ts';
import { EventHub } from './events.ts';
import { listLayouts, loadLayout, saveLayout } from './layouts.ts';
import { listSerialPorts } from './ports.ts';
import { SecretRegistry } from './secret-guard.ts';
import { BatchController } from './batch-controller.ts';
import { LedgerBrowser } from './ledger-browser.ts';
import { StationSession } from './station-session.ts';
import { VirtualFixture, type VirtualFixtureOptions } from './virtual-fixture.ts';
import { StationAppError } from './errors.ts';

export interface StationAppOptions {
  /** Station directory to open at start (it need not exist yet). */
  stationDir: string;
  /** One line per state change; never receives secrets. */
  log?: (line: string) => void;
  /** Virtual fixture tuning (UART speed, simulated module latency). */
  virtualFixture?: VirtualFixtureOptions;
  /** PBKDF2 iterations for stations created from the UI (tests lower it). */
  kdfIterations?: number;
}

export interface StationApp {
  readonly handlers: Handlers;
  readonly dispatch: Dispatch;
  readonly events: EventHub;
  readonly secrets: SecretRegistry;
  /** Stops a running batch and the virtual fixture, closes the ledger. */
  dispose(): Promise<void>;
}

export function createStationApp(opts: StationAppOptions): StationApp {
  const log = opts.log ?? (() => {});
  const secrets = new SecretRegistry();
  const events = new EventHub(secrets, (channel) =>
    log(`app: withheld a ${channel} event that carried secret material`),
  );
  const session = new StationSession(opts.stationDir, secrets, log, {
    ...(opts.kdfIterations ? { kdfIterations: opts.kdfIterations } : {}),
  });
  const fixture = new VirtualFixture(log, opts.virtualFixture, (info) =>
    events.emit('fixture:changed', info),
  );
  const stationChanged = async () => {
    const s = await session.status();
    events.emit('station:changed', s);
    return s;
  };
  const batch = new BatchController(
    session,
    fixture,
    (ev) => {
      events.emit('batch:event', ev);
      // A finished batch changed the ledger's size: refresh the station header.
      if (ev.kind === 'batch' && !ev.state.running) void stationChanged().catch(() => undefined);
    },
    log,
  );
  const ledger = new LedgerBrowser(session, (p) => events.emit('ledger:export-progress', p));
  const requireDir = () => {
    const dir = session.dir;
    if (!dir) throw new StationAppError('station-missing', 'choose a station directory first');
    return dir;
  };

  const handlers: Handlers = {
    'station:status': () => session.status(),
    'station:open': async ({ dir }) => {
      if (batch.running)
        throw new StationAppError('batch-running', 'stop the batch before changing the station');
      await session.open(dir);
      return stationChanged();
    },
    'station:create': async (r) => {
      await session.create(r.dir, r.organization, r.passphrase);
      return stationChanged();
    },
    'station:import-ca': async (r) => {
      await session.importCa(r);
      return stationChanged();
    },
    'station:unlock': async ({ passphrase }) => {
      try {
        await session.unlock(passphrase);
      } catch (e) {
        // A refusal changes the attempts left, which the unlock form shows.
        await stationChanged().catch(() => undefined);
        throw e;
      }
      return stationChanged();
    },
    'station:lock': async () => {
      if (batch.running)
        throw new StationAppError('batch-running', 'stop the batch before locking the station');
      await session.lock();
      return stationChanged();
    },
    'profile:select': async ({ name }) => {
      if (batch.running)
        throw new StationAppError('batch-running', 'stop the batch before changing the profile');
      await session.selectProfile(name);
      return stationChanged();
    },
    'ports:list': () => listSerialPorts(fixture.info().slots),
    'layout:list': () => listLayouts(requireDir()),
    'layout:save': ({ name, slots }) => saveLayout(requireDir(), name, slots),
    'layout:load': ({ name }) => loadLayout(requireDir(), name),
    'fixture:status': async () => fixture.info(),
    'fixture:start-virtual': async ({ slots }) => {
      const info = await fixture.start(slots);
      events.emit('fixture:changed', info);
      return info;
    },
    'fixture:stop-virtual': async () => {
      if (batch.running)
        throw new StationAppError('batch-running', 'stop the batch before the virtual fixture');
      const info = await fixture.stop();
      events.emit('fixture:changed', info);
      return info;
    },
    'fixture:inject-fault': async ({ slot, fault }) => {
      if (batch.slotBusy(slot))
        throw new StationAppError('batch-running', `slot ${slot} is running`, { slot });
      return fixture.injectFault(slot, fault);
    },
    'batch:start': ({ slots }) => batch.start(slots),
    'batch:stop': () => batch.stop(),
    'batch:rerun': ({ slot }) => batch.rerun(slot),
    'batch:state': async () => batch.state(),
    'ledger:search': ({ query, limit }) => ledger.search(query, limit),
    'ledger:device': ({ deviceId }) => ledger.device(deviceId),
    'ledger:revoke': async ({ deviceId, reason }) => {
      const d = await ledger.revoke(deviceId, reason);
      await stationChanged();
      return d;
    },
    'ledger:export': ({ outDir }) => ledger.exportTo(outDir),
  };

  return {
    handlers,
    dispatch: createDispatcher(handlers, secrets),
    events,
    secrets,
    async dispose() {
      await batch.stop().catch(() => undefined);
      await fixture.stop().catch(() => undefined);
      await session.close();
    },
  };
}
