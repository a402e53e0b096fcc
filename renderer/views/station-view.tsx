import { useState, type FormEvent } from 'react';
import type { StationStatus } from '../../contract/types.ts';
import { useCall } from '../api/context.tsx';
import { ErrorLine } from './error-line.tsx';

interface Props {
  status: StationStatus;
  onStatus: (s: StationStatus) => void;
}

/** Station setup: choose the directory, create or import a CA, unlock, pick a profile. */
export function StationView({ status, onStatus }: Props) {
  return (
    <div className="station-view">
      <section className="panel" aria-labelledby="station-h">
        <h2 id="station-h">Station</h2>
        <dl className="facts" data-testid="station-status">
          <dt>Directory</dt>
          <dd className="mono">{status.dir ?? '—'}</dd>
          <dt>State</dt>
          <dd data-testid="station-state">
            {!status.exists ? 'not set up' : status.unlocked ? 'unlocked' : 'locked'}
          </dd>
          <dt>Issuing CA</dt>
          <dd>{status.issuingCa ?? '—'}</dd>
          <dt>Key store</dt>
          <dd>{status.keyStore ?? '—'}</dd>
          <dt>Station key fingerprint</dt>
          <dd className="mono fingerprint" data-testid="station-fingerprint">
            {status.stationKeyFingerprint ?? '—'}
          </dd>
          <dt>Ledger records</dt>
          <dd className="num">{status.ledgerRecords}</dd>
        </dl>
        <OpenForm status={status} onStatus={onStatus} />
      </section>
      {!status.exists && status.dir && (
        <>
          <CreateForm dir={status.dir} onStatus={onStatus} />
          <ImportForm dir={status.dir} onStatus={onStatus} />
        </>
      )}
      {status.exists && !status.unlocked && <UnlockForm status={status} onStatus={onStatus} />}
      {status.exists && status.unlocked && <ProfileForm status={status} onStatus={onStatus} />}
    </div>
  );
}

function OpenForm({ status, onStatus }: Props) {
  const [dir, setDir] = useState(status.dir ?? '');
  const open = useCall('station:open');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = await open.run({ dir });
    if (s) onStatus(s);
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <label htmlFor="station-dir">Station directory</label>
      <input
        id="station-dir"
        className="mono"
        value={dir}
        onChange={(e) => setDir(e.target.value)}
        required
      />
      <button type="submit" disabled={open.busy || !dir}>
        Open
      </button>
      <ErrorLine error={open.error} />
    </form>
  );
}

function PassphrasePair({
  value,
  onChange,
}: {
  value: [string, string];
  onChange: (v: [string, string]) => void;
}) {
  return (
    <>
      <label htmlFor="new-pass">Station passphrase (min. 8 characters)</label>
      <input
        id="new-pass"
        type="password"
        autoComplete="new-password"
        value={value[0]}
        minLength={8}
        onChange={(e) => onChange([e.target.value, value[1]])}
        required
      />
      <label htmlFor="new-pass-2">Repeat passphrase</label>
      <input
        id="new-pass-2"
        type="password"
        autoComplete="new-password"
        value={value[1]}
        onChange={(e) => onChange([value[0], e.target.value])}
        required
      />
      {value[1] !== '' && value[0] !== value[1] && (
        <p className="form-error operator">The passphrases differ.</p>
      )}
    </>
  );
}

function CreateForm({ dir, onStatus }: { dir: string; onStatus: (s: StationStatus) => void }) {
  const [org, setOrg] = useState('Keyline Development');
  const [pass, setPass] = useState<[string, string]>(['', '']);
  const create = useCall('station:create');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = await create.run({ dir, organization: org, passphrase: pass[0] });
    setPass(['', '']);
    if (s) onStatus(s);
  }
  return (
    <section className="panel" aria-labelledby="create-h">
      <h2 id="create-h">Create a development CA</h2>
      <p className="hint">
        Root + issuing CA and a ledger-signing key, encrypted with the passphrase. For trials, not
        production.
      </p>
      <form className="stack-form" onSubmit={submit}>
        <label htmlFor="org">Organization</label>
        <input id="org" value={org} onChange={(e) => setOrg(e.target.value)} required />
        <PassphrasePair value={pass} onChange={setPass} />
        <button
          type="submit"
          className="primary"
          disabled={create.busy || pass[0].length < 8 || pass[0] !== pass[1]}
        >
          {create.busy ? 'Creating…' : 'Create station'}
        </button>
        <ErrorLine error={create.error} testId="create-error" />
      </form>
    </section>
  );
}

function ImportForm({ dir, onStatus }: { dir: string; onStatus: (s: StationStatus) => void }) {
  const [cert, setCert] = useState('');
  const [key, setKey] = useState('');
  const [keyPass, setKeyPass] = useState('');
  const [pass, setPass] = useState<[string, string]>(['', '']);
  const imp = useCall('station:import-ca');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = await imp.run({
      dir,
      caCertPath: cert,
      caKeyPath: key,
      caKeyPassphrase: keyPass,
      passphrase: pass[0],
    });
    setKeyPass('');
    setPass(['', '']);
    if (s) onStatus(s);
  }
  return (
    <section className="panel" aria-labelledby="import-h">
      <h2 id="import-h">Import the issuing CA</h2>
      <form className="stack-form" onSubmit={submit}>
        <label htmlFor="ca-cert">CA certificate chain (PEM file)</label>
        <input
          id="ca-cert"
          className="mono"
          value={cert}
          onChange={(e) => setCert(e.target.value)}
          required
        />
        <label htmlFor="ca-key">CA private key (PEM file)</label>
        <input
          id="ca-key"
          className="mono"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <label htmlFor="ca-key-pass">Key file passphrase (empty if none)</label>
        <input
          id="ca-key-pass"
          type="password"
          autoComplete="off"
          value={keyPass}
          onChange={(e) => setKeyPass(e.target.value)}
        />
        <PassphrasePair value={pass} onChange={setPass} />
        <button type="submit" disabled={imp.busy || pass[0].length < 8 || pass[0] !== pass[1]}>
          {imp.busy ? 'Importing…' : 'Import CA'}
        </button>
        <ErrorLine error={imp.error} />
      </form>
    </section>
  );
}

function UnlockForm({ status, onStatus }: Props) {
  const [pass, setPass] = useState('');
  // A token station is unlocked with the token's user PIN, which main passes on as is.
  const token = status.keyStore === 'pkcs11';
  const unlock = useCall('station:unlock');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = await unlock.run({ passphrase: pass });
    setPass('');
    if (s) onStatus(s);
  }
  return (
    <section className="panel" aria-labelledby="unlock-h">
      <h2 id="unlock-h">Unlock the station</h2>
      <form className="stack-form" onSubmit={submit}>
        <label htmlFor="unlock-pass">{token ? 'Token PIN' : 'Passphrase'}</label>
        {token && (
          <p className="hint" id="unlock-pass-hint">
            The station&apos;s keys are in a PKCS#11 token: enter its user PIN.
          </p>
        )}
        <input
          id="unlock-pass"
          type="password"
          autoComplete={token ? 'off' : 'current-password'}
          aria-describedby={token ? 'unlock-pass-hint' : undefined}
          value={pass}
          onChange={(e) => setPass(e.target.value)}
          required
          autoFocus
        />
        <button type="submit" className="primary" disabled={unlock.busy || !pass}>
          {unlock.busy ? 'Unlocking…' : 'Unlock'}
        </button>
        {status.attemptsLeft !== null && (
          <p className="hint">Attempts left before lockout: {status.attemptsLeft}</p>
        )}
        <ErrorLine error={unlock.error} testId="unlock-error" />
      </form>
    </section>
  );
}

function ProfileForm({ status, onStatus }: Props) {
  const select = useCall('profile:select');
  const lock = useCall('station:lock');
  return (
    <section className="panel" aria-labelledby="profile-h">
      <h2 id="profile-h">Product profile</h2>
      {status.profiles.length === 0 && (
        <p className="hint">No profiles found in the station directory.</p>
      )}
      <fieldset className="profile-list">
        <legend className="sr-only">Product profile</legend>
        {status.profiles.map((p) => (
          <label
            key={p.name}
            className={status.profile === p.name ? 'profile selected' : 'profile'}
          >
            <input
              type="radio"
              name="profile"
              value={p.name}
              checked={status.profile === p.name}
              onChange={async () => {
                const s = await select.run({ name: p.name });
                if (s) onStatus(s);
              }}
            />
            <span className="profile-name">{p.name}</span>
            <span className="profile-desc">
              {p.modem} · {p.readoutProtection ? 'MCU read-out protection' : 'no RDP'} ·{' '}
              {p.description}
            </span>
          </label>
        ))}
      </fieldset>
      <ErrorLine error={select.error} />
      <button
        type="button"
        onClick={async () => {
          const s = await lock.run({});
          if (s) onStatus(s);
        }}
      >
        Lock station
      </button>
    </section>
  );
}
