import { useState } from 'react';
import type { LedgerDeviceDetail } from '../../contract/types.ts';
import { useCall, useCanOperate } from '../api/context.tsx';
import { ErrorLine } from './error-line.tsx';

const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified'] as const;

/** One device's ledger entry: decoded certificates, its records, and revocation. */
export function DeviceDetail({
  detail,
  onChange,
}: {
  detail: LedgerDeviceDetail;
  onChange: (d: LedgerDeviceDetail) => void;
}) {
  const [reason, setReason] = useState<(typeof reasons)[number]>('keyCompromise');
  const [confirm, setConfirm] = useState(false);
  const revoke = useCall('ledger:revoke');
  const canOperate = useCanOperate();
  const h = detail.hit;
  return (
    <section className="panel detail" aria-labelledby="detail-h" data-testid="device-detail">
      <h2 id="detail-h">
        Device <span className="mono">{h.deviceId}</span>{' '}
        <span className={`status status-${h.status}`} data-testid="device-status">
          {h.status}
        </span>
      </h2>
      <dl className="facts">
        <dt>IMEI</dt>
        <dd className="mono">{h.imei}</dd>
        <dt>ICCID</dt>
        <dd className="mono">{h.iccid}</dd>
        <dt>MCU UID</dt>
        <dd className="mono">{h.mcuUid}</dd>
        {Object.entries(detail.facts).map(([k, v]) => (
          <FactRow key={k} k={k} v={v} />
        ))}
      </dl>
      <div className="certs">
        {detail.certificates.map((c) => (
          <article key={c.sha256} className="cert" aria-label={`${c.role} certificate`}>
            <h3>{c.role === 'modem' ? 'Modem TLS certificate' : 'MCU certificate'}</h3>
            <dl className="facts small">
              <dt>Subject</dt>
              <dd className="mono">{c.subject}</dd>
              <dt>Issuer</dt>
              <dd className="mono">{c.issuer}</dd>
              <dt>Serial</dt>
              <dd className="mono">{c.serial}</dd>
              <dt>SAN</dt>
              <dd className="mono">{c.san.join(', ') || '—'}</dd>
              <dt>Valid</dt>
              <dd className="num">
                {c.notBefore} → {c.notAfter}
              </dd>
              <dt>Key</dt>
              <dd>{c.publicKeyAlgorithm}</dd>
              <dt>SHA-256</dt>
              <dd className="mono fingerprint">{c.sha256}</dd>
            </dl>
          </article>
        ))}
      </div>
      <h3 className="subhead">Ledger records</h3>
      <ol className="records">
        {detail.records.map((r) => (
          <li key={r.index} className="num">
            #{r.index} <strong>{r.type}</strong> {r.at}{' '}
            <span className="mono small">{r.leafHash.slice(0, 16)}…</span>
          </li>
        ))}
      </ol>
      {h.status !== 'revoked' && canOperate && (
        <div className="revoke">
          <label htmlFor="revoke-reason">Revocation reason</label>
          <select
            id="revoke-reason"
            value={reason}
            onChange={(e) => setReason(e.target.value as (typeof reasons)[number])}
          >
            {reasons.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          {confirm ? (
            <>
              <button
                type="button"
                className="danger"
                disabled={revoke.busy}
                onClick={async () => {
                  const d = await revoke.run({ deviceId: h.deviceId, reason });
                  setConfirm(false);
                  if (d) onChange(d);
                }}
              >
                Confirm revocation of {h.deviceId}
              </button>
              <button type="button" onClick={() => setConfirm(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirm(true)}>
              Revoke device
            </button>
          )}
        </div>
      )}
      <ErrorLine error={revoke.error} />
    </section>
  );
}

function FactRow({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}
