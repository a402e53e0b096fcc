import { useCallback, useEffect, useRef, useState } from 'react';
import type { BatchEvent } from '../../contract/channels.ts';
import type {
  BatchState,
  SlotAssignment,
  SlotState,
  StationStatus,
  VirtualFixtureInfo,
} from '../../contract/types.ts';
import { useApi, useCall, useCanOperate, useEvent } from '../api/context.tsx';
import { AssignmentPanel } from './assignment-panel.tsx';
import { ErrorLine } from './error-line.tsx';
import { SlotTile } from './slot-tile.tsx';
import { Throughput } from './throughput.tsx';

const emptyStats: BatchState['stats'] = {
  passed: 0,
  failed: 0,
  boardsPerHour: 0,
  passRate: null,
  failuresByStep: {},
  timeline: [],
};

function idleSlot(a: SlotAssignment, steps: string[]): SlotState {
  return {
    ...a,
    phase: 'idle',
    step: null,
    steps: steps.map((name) => ({ name, percent: 0, state: 'pending' })),
    ids: { imei: null, iccid: null, mcuUid: null, deviceId: null },
    failure: null,
    startedAt: null,
    finishedAt: null,
    log: [],
  };
}

function shortPort(p: string): string {
  return p.split('/').pop() || p;
}

/** Fixture: one tile per slot, batch control, virtual fixture, port assignment, throughput. */
export function FixtureView({ status, ready }: { status: StationStatus; ready: boolean }) {
  const api = useApi();
  const canOperate = useCanOperate();
  const [batch, setBatch] = useState<BatchState | null>(null);
  const [assign, setAssign] = useState<SlotAssignment[]>([]);
  const [virt, setVirt] = useState<VirtualFixtureInfo | null>(null);
  const [virtSlots, setVirtSlots] = useState(4);
  const [portsVersion, setPortsVersion] = useState(0);
  const start = useCall('batch:start');
  const stop = useCall('batch:stop');
  const rerun = useCall('batch:rerun');
  const startVirt = useCall('fixture:start-virtual');
  const stopVirt = useCall('fixture:stop-virtual');
  const inject = useCall('fixture:inject-fault');

  useEffect(() => {
    void (async () => {
      const [b, f] = await Promise.all([
        api.call('batch:state', {}),
        api.call('fixture:status', {}),
      ]);
      if (f.ok) setVirt(f.value);
      if (b.ok) {
        setBatch(b.value);
        if (b.value.slots.length)
          setAssign(
            b.value.slots.map(({ slot, modemPort, mcuPort }) => ({ slot, modemPort, mcuPort })),
          );
        else if (f.ok && f.value.running) setAssign(f.value.slots);
      }
    })();
  }, [api]);

  const onBatchEvent = useCallback((ev: BatchEvent) => {
    if (ev.kind === 'batch') return setBatch(ev.state);
    setBatch((b) => {
      if (!b || b.id !== ev.batchId) return b;
      const slots = b.slots.some((s) => s.slot === ev.slot.slot)
        ? b.slots.map((s) => (s.slot === ev.slot.slot ? ev.slot : s))
        : [...b.slots, ev.slot];
      return { ...b, slots, stats: ev.stats };
    });
  }, []);
  useEvent('batch:event', onBatchEvent);
  const virtRef = useRef<VirtualFixtureInfo | null>(null);
  virtRef.current = virt;
  const onFixture = useCallback((f: VirtualFixtureInfo) => {
    // A simulated slot that got a fresh board has new ports: follow them.
    const before = new Set(virtRef.current?.slots.flatMap((s) => [s.modemPort, s.mcuPort]) ?? []);
    setAssign((assigned) =>
      assigned.map((a) =>
        before.has(a.modemPort) ? (f.slots.find((s) => s.slot === a.slot) ?? a) : a,
      ),
    );
    setVirt(f);
    setPortsVersion((v) => v + 1);
  }, []);
  useEvent('fixture:changed', onFixture);

  const running = !!batch?.running;
  const complete = assign.length > 0 && assign.every((a) => a.modemPort && a.mcuPort);
  const tiles: SlotState[] = assign.map(
    (a) => batch?.slots.find((s) => s.slot === a.slot) ?? idleSlot(a, batch?.steps ?? []),
  );
  const virtualPorts = new Set(virt?.slots.flatMap((s) => [s.modemPort, s.mcuPort]) ?? []);

  return (
    <div className="fixture-view">
      <section className="toolbar" aria-label="Batch control">
        <fieldset className="plain" disabled={!canOperate}>
          <button
            type="button"
            className="primary big"
            disabled={!ready || running || !complete || start.busy}
            onClick={async () => {
              const b = await start.run({ slots: assign });
              if (b) setBatch(b);
            }}
          >
            Start batch
          </button>
          <button
            type="button"
            className="danger big"
            disabled={!running || stop.busy}
            onClick={async () => {
              const b = await stop.run({});
              if (b) setBatch(b);
            }}
          >
            Stop batch
          </button>
          <span
            className="batch-state"
            data-testid="batch-state"
            data-running={running ? 'true' : 'false'}
          >
            {running ? 'Batch running' : batch?.id ? 'Batch finished' : 'No batch'}
          </span>
          {!ready && (
            <span className="hint">
              {!status.unlocked ? 'Unlock the station first.' : 'Choose a product profile first.'}
            </span>
          )}
          <span className="spacer" />
          <span className="kpi-strip num" aria-label="Batch totals">
            <span className="pass-text">{batch?.stats.passed ?? 0} PASS</span>
            <span className="fail-text">{batch?.stats.failed ?? 0} FAIL</span>
            <span>{(batch?.stats.boardsPerHour ?? 0).toFixed(0)}/h</span>
          </span>
          <fieldset className="virtual">
            <legend>Virtual fixture</legend>
            {virt?.running ? (
              <>
                <span className="num" data-testid="virtual-running">
                  {virt.slots.length} simulated boards
                </span>
                <button
                  type="button"
                  disabled={running || stopVirt.busy}
                  onClick={async () => {
                    const f = await stopVirt.run({});
                    if (f) {
                      setVirt(f);
                      setAssign((a) => a.filter((s) => !virtualPorts.has(s.modemPort)));
                      setPortsVersion((v) => v + 1);
                    }
                  }}
                >
                  Stop virtual fixture
                </button>
              </>
            ) : (
              <>
                <label htmlFor="virt-slots">Boards</label>
                <input
                  id="virt-slots"
                  type="number"
                  min={1}
                  max={16}
                  value={virtSlots}
                  onChange={(e) => setVirtSlots(Number(e.target.value))}
                  className="num narrow"
                />
                <button
                  type="button"
                  disabled={startVirt.busy}
                  onClick={async () => {
                    const f = await startVirt.run({ slots: virtSlots });
                    if (f) {
                      setVirt(f);
                      setAssign(f.slots);
                      setPortsVersion((v) => v + 1);
                    }
                  }}
                >
                  {startVirt.busy ? 'Starting…' : 'Start virtual fixture'}
                </button>
              </>
            )}
          </fieldset>
        </fieldset>
      </section>
      <ErrorLine
        error={
          start.error ??
          stop.error ??
          rerun.error ??
          startVirt.error ??
          stopVirt.error ??
          inject.error
        }
        testId="fixture-error"
      />
      <div className="fixture-body">
        <section className="tiles" aria-label="Slots" data-testid="tiles">
          {tiles.length === 0 && (
            <p className="hint">
              No slots. Start the virtual fixture or assign serial ports below.
            </p>
          )}
          {tiles.map((s) => (
            <SlotTile
              key={s.slot}
              slot={s}
              canRerun={canOperate && ready && !!batch?.id && s.phase === 'fail' && !rerun.busy}
              onRerun={async () => {
                const b = await rerun.run({ slot: s.slot });
                if (b) setBatch(b);
              }}
              portLabel={
                virtualPorts.has(s.modemPort)
                  ? 'simulated board'
                  : `${shortPort(s.modemPort)} · ${shortPort(s.mcuPort)}`
              }
              faults={canOperate && virtualPorts.has(s.modemPort) ? (virt?.faults ?? []) : []}
              onInjectFault={(fault) => void inject.run({ slot: s.slot, fault })}
            />
          ))}
        </section>
        <div className="side">
          <Throughput stats={batch?.stats ?? emptyStats} />
          <fieldset className="plain" disabled={!canOperate}>
            <AssignmentPanel
              slots={assign}
              onChange={setAssign}
              disabled={running}
              portsVersion={portsVersion}
            />
          </fieldset>
        </div>
      </div>
    </div>
  );
}
