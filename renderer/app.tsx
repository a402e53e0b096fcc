import { useCallback, useEffect, useState } from 'react';
import type { KeylineApi } from '../contract/api.ts';
import type { StationStatus } from '../contract/types.ts';
import { ApiContext, CanOperateContext } from './api/context.tsx';
import { FixtureView } from './views/fixture-view.tsx';
import { LedgerView } from './views/ledger-view.tsx';
import { StationView } from './views/station-view.tsx';

type Tab = 'station' | 'fixture' | 'ledger';

const tabs: { id: Tab; label: string }[] = [
  { id: 'station', label: 'Station' },
  { id: 'fixture', label: 'Fixture' },
  { id: 'ledger', label: 'Ledger' },
];

export function App({ api }: { api: KeylineApi }) {
  const [tab, setTab] = useState<Tab>('station');
  const [status, setStatus] = useState<StationStatus | null>(null);
  const [connected, setConnected] = useState(true);
  const [access, setAccess] = useState(api.access);

  const refresh = useCallback(async () => {
    const r = await api.call('station:status', {});
    if (r.ok) setStatus(r.value);
  }, [api]);

  useEffect(() => {
    void refresh();
    const off = api.subscribe('station:changed', setStatus);
    const conn = (api as { onConnection?: (l: (c: boolean) => void) => () => void }).onConnection;
    const offConn = conn?.((c) => {
      setConnected(c);
      setAccess(api.access);
      if (c) void refresh();
    });
    return () => {
      off();
      offConn?.();
    };
  }, [api, refresh]);

  const ready = !!status?.unlocked && !!status.profile;

  return (
    <ApiContext.Provider value={api}>
      <CanOperateContext.Provider value={access === 'operate'}>
        <div className="shell">
          <header className="topbar">
            <div className="brand">
              keyline <span className="brand-sub">provisioning station</span>
            </div>
            <nav className="tabs" aria-label="Views">
              {tabs.map((t) => (
                <button
                  key={t.id}
                  type="button"
                  className={tab === t.id ? 'tab active' : 'tab'}
                  aria-current={tab === t.id ? 'page' : undefined}
                  onClick={() => setTab(t.id)}
                >
                  {t.label}
                </button>
              ))}
            </nav>
            <div className="station-badge" data-testid="station-badge">
              {status === null ? (
                'connecting…'
              ) : !status.exists ? (
                <span className="badge warn">No station</span>
              ) : status.unlocked ? (
                <span className="badge ok">Unlocked</span>
              ) : (
                <span className="badge warn">Locked</span>
              )}
              {status?.profile && <span className="badge neutral">Profile: {status.profile}</span>}
              {api.transport === 'bridge' && <span className="badge neutral">Browser bridge</span>}
              {access === 'watch' && (
                <span className="badge warn" data-testid="watch-only">
                  Watch only
                </span>
              )}
            </div>
          </header>
          {!connected && (
            <div className="banner error" role="alert">
              Connection to the station lost — reconnecting…
            </div>
          )}
          <main className="content">
            {status && tab === 'station' && (
              <fieldset className="plain" disabled={access !== 'operate'}>
                <StationView status={status} onStatus={setStatus} />
              </fieldset>
            )}
            {status && tab === 'fixture' && <FixtureView status={status} ready={ready} />}
            {status && tab === 'ledger' && <LedgerView status={status} />}
          </main>
        </div>
      </CanOperateContext.Provider>
    </ApiContext.Provider>
  );
}
