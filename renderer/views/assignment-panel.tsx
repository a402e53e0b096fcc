import { useEffect, useState } from 'react';
import type { FixtureLayout, SerialPortInfo, SlotAssignment } from '../../contract/types.ts';
import { useApi, useCall } from '../api/context.tsx';
import { ErrorLine } from './error-line.tsx';

interface Props {
  slots: SlotAssignment[];
  onChange: (slots: SlotAssignment[]) => void;
  disabled: boolean;
  /** Bumped when the set of ports may have changed (virtual fixture started/stopped). */
  portsVersion: number;
}

/** Serial port discovery, slot ↔ port assignment and saved fixture layouts. */
export function AssignmentPanel({ slots, onChange, disabled, portsVersion }: Props) {
  const api = useApi();
  const [ports, setPorts] = useState<SerialPortInfo[]>([]);
  const [layouts, setLayouts] = useState<FixtureLayout[]>([]);
  const [layoutName, setLayoutName] = useState('line-1');
  const listPorts = useCall('ports:list');
  const save = useCall('layout:save');
  const [saved, setSaved] = useState<string | null>(null);

  async function refreshPorts() {
    const p = await listPorts.run({});
    if (p) setPorts(p);
  }
  async function refreshLayouts() {
    const r = await api.call('layout:list', {});
    if (r.ok) setLayouts(r.value);
  }
  useEffect(() => {
    void refreshPorts();
    void refreshLayouts();
  }, [portsVersion]);

  function update(i: number, patch: Partial<SlotAssignment>) {
    onChange(slots.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  }
  function addSlot() {
    const next = Math.max(0, ...slots.map((s) => s.slot)) + 1;
    onChange([...slots, { slot: next, modemPort: '', mcuPort: '' }]);
  }

  const portOptions = (
    <>
      <option value="">— choose —</option>
      {ports.map((p) => (
        <option key={p.path} value={p.path}>
          {p.path}
          {p.virtual ? ' (virtual)' : p.manufacturer ? ` (${p.manufacturer})` : ''}
        </option>
      ))}
    </>
  );

  return (
    <section className="panel assignment" aria-labelledby="assign-h">
      <h2 id="assign-h">Slots and ports</h2>
      <div className="row">
        <button type="button" onClick={refreshPorts} disabled={listPorts.busy}>
          Refresh ports
        </button>
        <span className="hint num">{ports.length} ports found</span>
      </div>
      <ErrorLine error={listPorts.error} />
      <table className="assign-table">
        <thead>
          <tr>
            <th scope="col">Slot</th>
            <th scope="col">Modem port</th>
            <th scope="col">MCU port</th>
            <th scope="col">
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {slots.map((s, i) => (
            <tr key={s.slot}>
              <td className="num">{s.slot}</td>
              <td>
                <label className="sr-only" htmlFor={`modem-${s.slot}`}>
                  Modem port for slot {s.slot}
                </label>
                <select
                  id={`modem-${s.slot}`}
                  value={s.modemPort}
                  disabled={disabled}
                  onChange={(e) => update(i, { modemPort: e.target.value })}
                >
                  {s.modemPort && !ports.some((p) => p.path === s.modemPort) && (
                    <option value={s.modemPort}>{s.modemPort}</option>
                  )}
                  {portOptions}
                </select>
              </td>
              <td>
                <label className="sr-only" htmlFor={`mcu-${s.slot}`}>
                  MCU port for slot {s.slot}
                </label>
                <select
                  id={`mcu-${s.slot}`}
                  value={s.mcuPort}
                  disabled={disabled}
                  onChange={(e) => update(i, { mcuPort: e.target.value })}
                >
                  {s.mcuPort && !ports.some((p) => p.path === s.mcuPort) && (
                    <option value={s.mcuPort}>{s.mcuPort}</option>
                  )}
                  {portOptions}
                </select>
              </td>
              <td>
                <button
                  type="button"
                  disabled={disabled}
                  onClick={() => onChange(slots.filter((_, j) => j !== i))}
                >
                  Remove slot {s.slot}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <button type="button" onClick={addSlot} disabled={disabled || slots.length >= 64}>
          Add slot
        </button>
      </div>
      <h3 className="subhead">Saved layouts</h3>
      <div className="row">
        <label htmlFor="layout-name">Layout name</label>
        <input
          id="layout-name"
          value={layoutName}
          onChange={(e) => setLayoutName(e.target.value)}
        />
        <button
          type="button"
          disabled={save.busy || slots.length === 0}
          onClick={async () => {
            const l = await save.run({ name: layoutName, slots });
            if (l) {
              setSaved(`Saved “${l.name}”`);
              void refreshLayouts();
            }
          }}
        >
          Save layout
        </button>
        {saved && <span className="hint">{saved}</span>}
      </div>
      <ErrorLine error={save.error} />
      {layouts.length > 0 && (
        <ul className="layout-list">
          {layouts.map((l) => (
            <li key={l.name}>
              <button type="button" disabled={disabled} onClick={() => onChange(l.slots)}>
                Load {l.name}
              </button>
              <span className="hint num">{l.slots.length} slots</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
