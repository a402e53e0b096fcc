import type { ThroughputStats } from '../../contract/types.ts';

const W = 360;
const H = 120;

/** Cumulative passed/failed boards over the batch, as two step lines (inline SVG). */
function Chart({ stats }: { stats: ThroughputStats }) {
  const pts = stats.timeline;
  const tMax = Math.max(1, ...pts.map((p) => p.t));
  const yMax = Math.max(1, ...pts.map((p) => p.passed + p.failed));
  const x = (t: number) => 30 + (t / tMax) * (W - 40);
  const y = (v: number) => H - 20 - (v / yMax) * (H - 30);
  const line = (pick: (p: (typeof pts)[number]) => number) =>
    pts.length === 0
      ? ''
      : `M${x(0)},${y(0)} ` + pts.map((p) => `H${x(p.t)} V${y(pick(p))}`).join(' ');
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${stats.passed} passed and ${stats.failed} failed over the batch`}
    >
      <line x1={30} y1={H - 20} x2={W - 10} y2={H - 20} className="axis" />
      <line x1={30} y1={10} x2={30} y2={H - 20} className="axis" />
      <text x={4} y={y(yMax) + 4} className="tick">
        {yMax}
      </text>
      <text x={4} y={H - 16} className="tick">
        0
      </text>
      <text x={W - 10} y={H - 4} className="tick" textAnchor="end">
        {Math.round(tMax)} s
      </text>
      <path d={line((p) => p.passed)} className="series pass" />
      <path d={line((p) => p.failed)} className="series fail" />
    </svg>
  );
}

export function Throughput({ stats }: { stats: ThroughputStats }) {
  const steps = Object.entries(stats.failuresByStep).sort((a, b) => b[1] - a[1]);
  const maxFail = Math.max(1, ...steps.map((s) => s[1]));
  return (
    <section className="panel throughput" aria-labelledby="tp-h" data-testid="throughput">
      <h2 id="tp-h">Throughput</h2>
      <div className="kpis">
        <div className="kpi">
          <span className="kpi-value num" data-testid="boards-per-hour">
            {stats.boardsPerHour.toFixed(0)}
          </span>
          <span className="kpi-label">boards / hour</span>
        </div>
        <div className="kpi">
          <span className="kpi-value num" data-testid="pass-rate">
            {stats.passRate === null ? '—' : `${(stats.passRate * 100).toFixed(0)}%`}
          </span>
          <span className="kpi-label">pass rate</span>
        </div>
        <div className="kpi">
          <span className="kpi-value num pass-text" data-testid="passed-count">
            {stats.passed}
          </span>
          <span className="kpi-label">passed</span>
        </div>
        <div className="kpi">
          <span className="kpi-value num fail-text" data-testid="failed-count">
            {stats.failed}
          </span>
          <span className="kpi-label">failed</span>
        </div>
      </div>
      <Chart stats={stats} />
      <h3 className="subhead">Failures by step</h3>
      {steps.length === 0 ? (
        <p className="hint">No failures.</p>
      ) : (
        <ul className="fail-bars">
          {steps.map(([step, n]) => (
            <li key={step}>
              <span className="fail-step">{step}</span>
              <svg
                className="fail-bar"
                viewBox="0 0 100 10"
                preserveAspectRatio="none"
                aria-hidden="true"
              >
                <rect x={0} y={0} width={(n / maxFail) * 100} height={10} />
              </svg>
              <span className="num">{n}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
