import { useCallback, useState, type FormEvent } from 'react';
import type {
  ExportProgress,
  ExportResult,
  LedgerDeviceDetail,
  LedgerHit,
  StationStatus,
} from '../../contract/types.ts';
import { useCall, useCanOperate, useEvent } from '../api/context.tsx';
import { DeviceDetail } from './device-detail.tsx';
import { ErrorLine } from './error-line.tsx';

/** Ledger: search by any hardware ID or device ID, record details, revoke, export. */
export function LedgerView({ status }: { status: StationStatus }) {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<LedgerHit[] | null>(null);
  const [detail, setDetail] = useState<LedgerDeviceDetail | null>(null);
  const search = useCall('ledger:search');
  const canOperate = useCanOperate();
  const device = useCall('ledger:device');

  async function submit(e: FormEvent) {
    e.preventDefault();
    const h = await search.run({ query: query.trim(), limit: 200 });
    if (h) setHits(h);
  }

  return (
    <div className="ledger-view">
      <div className="ledger-top">
        <section className="panel" aria-labelledby="search-h">
          <h2 id="search-h">Search the ledger</h2>
          <form className="inline-form" onSubmit={submit} role="search">
            <label htmlFor="ledger-q">IMEI, ICCID, MCU UID or device ID</label>
            <input
              id="ledger-q"
              className="mono"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder="empty = newest devices"
            />
            <button type="submit" className="primary" disabled={search.busy || !status.exists}>
              Search
            </button>
          </form>
          <ErrorLine error={search.error} />
          <ErrorLine error={device.error} />
        </section>
        <fieldset className="plain" disabled={!canOperate}>
          <ExportPanel
            disabled={!status.exists}
            defaultDir={
              status.dir
                ? `${status.dir}/exports/ledger-${new Date().toISOString().slice(0, 10)}`
                : ''
            }
          />
        </fieldset>
      </div>
      {hits && (
        <section className="panel" aria-label="Search results">
          <table className="results" data-testid="ledger-results">
            <caption className="hint">
              {hits.length === 1 ? '1 device' : `${hits.length} devices`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Device ID</th>
                <th scope="col">IMEI</th>
                <th scope="col">ICCID</th>
                <th scope="col">MCU UID</th>
                <th scope="col">Status</th>
                <th scope="col">Time (UTC)</th>
                <th scope="col">
                  <span className="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {hits.map((h) => (
                <tr
                  key={h.deviceId}
                  className={detail?.hit.deviceId === h.deviceId ? 'selected' : undefined}
                >
                  <td className="mono">{h.deviceId}</td>
                  <td className="mono">{h.imei}</td>
                  <td className="mono">{h.iccid}</td>
                  <td className="mono">{h.mcuUid}</td>
                  <td>
                    <span className={`status status-${h.status}`}>{h.status}</span>
                  </td>
                  <td className="num">{h.at.replace('T', ' ').slice(0, 19)}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Details of ${h.deviceId}`}
                      onClick={async () => {
                        const d = await device.run({ deviceId: h.deviceId });
                        if (d) setDetail(d);
                      }}
                    >
                      Details
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {detail && (
        <DeviceDetail
          detail={detail}
          onChange={(d) => {
            setDetail(d);
            setHits((hs) => hs?.map((h) => (h.deviceId === d.hit.deviceId ? d.hit : h)) ?? null);
          }}
        />
      )}
    </div>
  );
}

function ExportPanel({ disabled, defaultDir }: { disabled: boolean; defaultDir: string }) {
  const [outDir, setOutDir] = useState(defaultDir);
  const [progress, setProgress] = useState<ExportProgress | null>(null);
  const [result, setResult] = useState<ExportResult | null>(null);
  const exp = useCall('ledger:export');
  useEvent(
    'ledger:export-progress',
    useCallback((p: ExportProgress) => setProgress(p), []),
  );
  return (
    <section className="panel export" aria-labelledby="export-h">
      <h2 id="export-h">Export</h2>
      <form
        className="stack-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setResult(null);
          setProgress(null);
          const r = await exp.run({ outDir });
          if (r) setResult(r);
        }}
      >
        <label htmlFor="export-dir">Destination folder</label>
        <input
          id="export-dir"
          className="mono"
          value={outDir}
          onChange={(e) => setOutDir(e.target.value)}
          required
        />
        <button type="submit" className="primary" disabled={disabled || exp.busy || !outDir}>
          {exp.busy ? 'Exporting…' : 'Export ledger'}
        </button>
      </form>
      <div className="export-progress">
        <progress
          max={Math.max(1, progress?.total ?? 1)}
          value={progress?.done ?? 0}
          aria-label="Export progress"
        />
        <span className="num">
          {progress ? `${progress.phase} ${progress.done}/${progress.total}` : '\u00a0'}
        </span>
      </div>
      <ErrorLine error={exp.error} testId="export-error" />
      {result && (
        <div
          className={result.verified ? 'verify ok' : 'verify bad'}
          role="status"
          data-testid="export-result"
          data-verified={String(result.verified)}
        >
          <strong>{result.verified ? 'Export verified' : 'Verification FAILED'}</strong>
          <span className="num">{result.records} records</span>
          <span className="mono small">root {result.root}</span>
          <span className="mono small">{result.dir}</span>
          <span>{result.message}</span>
        </div>
      )}
    </section>
  );
}
