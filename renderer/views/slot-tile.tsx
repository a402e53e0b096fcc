import { useState } from 'react';
import type { SlotState } from '../../contract/types.ts';

interface Props {
  slot: SlotState;
  canRerun: boolean;
  /** Short description of the slot's ports (full paths in the tooltip). */
  portLabel: string;
  onRerun: () => void;
  /** Fault kinds for a simulated slot; empty for real hardware. */
  faults: string[];
  onInjectFault: (fault: string) => void;
}

const phaseLabel: Record<SlotState['phase'], string> = {
  idle: 'IDLE',
  queued: 'QUEUED',
  running: 'RUNNING',
  pass: 'PASS',
  fail: 'FAIL',
  stopped: 'STOPPED',
};

function Id({ label, value }: { label: string; value: string | null }) {
  return (
    <>
      <dt>{label}</dt>
      <dd className="mono">{value ?? '—'}</dd>
    </>
  );
}

/** One fixture slot: fixed size, so progress updates never move the layout. */
export function SlotTile({ slot, canRerun, portLabel, onRerun, faults, onInjectFault }: Props) {
  const [fault, setFault] = useState(faults[0] ?? '');
  const n = slot.slot;
  return (
    <article
      className={`tile phase-${slot.phase}`}
      data-testid={`slot-${n}`}
      data-phase={slot.phase}
      aria-labelledby={`slot-${n}-h`}
    >
      <header className="tile-head">
        <h3 id={`slot-${n}-h`}>Slot {n}</h3>
        <span className="tile-ports mono" title={`modem ${slot.modemPort}, MCU ${slot.mcuPort}`}>
          {portLabel}
        </span>
      </header>
      <div className="verdict" role="status" aria-live="polite" data-testid={`slot-${n}-verdict`}>
        <span className="verdict-word">{phaseLabel[slot.phase]}</span>
        <span className="verdict-step">
          {slot.phase === 'running' && slot.step
            ? slot.step
            : slot.phase === 'fail' && slot.failure
              ? `at ${slot.failure.step}`
              : '\u00a0'}
        </span>
      </div>
      <div className="failure" data-testid={`slot-${n}-failure`} title={slot.failure?.message}>
        <p className="failure-reason">{slot.failure ? slot.failure.message : '\u00a0'}</p>
        <p className="failure-answer mono">
          {slot.failure?.deviceAnswer ? `device: ${slot.failure.deviceAnswer}` : '\u00a0'}
        </p>
      </div>
      <dl className="ids">
        <Id label="IMEI" value={slot.ids.imei} />
        <Id label="ICCID" value={slot.ids.iccid} />
        <Id label="MCU UID" value={slot.ids.mcuUid} />
        <Id label="Device" value={slot.ids.deviceId} />
      </dl>
      <ol className="steps">
        {slot.steps.map((s) => (
          <li key={s.name} className={`step step-${s.state}`}>
            <span className="step-name">{s.name}</span>
            <progress max={100} value={s.percent} aria-label={`slot ${n} ${s.name}`} />
            <span className="step-pct num">{Math.round(s.percent)}%</span>
          </li>
        ))}
      </ol>
      <footer className="tile-actions">
        <button
          type="button"
          onClick={onRerun}
          disabled={!canRerun}
          aria-label={`Re-run slot ${n}`}
        >
          Re-run
        </button>
        {faults.length > 0 && (
          <span className="fault-inject">
            <label className="sr-only" htmlFor={`fault-${n}`}>
              Fault for slot {n}
            </label>
            <select id={`fault-${n}`} value={fault} onChange={(e) => setFault(e.target.value)}>
              {faults.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
            <button
              type="button"
              onClick={() => onInjectFault(fault)}
              disabled={!fault}
              aria-label={`Inject fault into slot ${n}`}
            >
              Inject
            </button>
          </span>
        )}
      </footer>
    </article>
  );
}
