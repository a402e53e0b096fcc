import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { KeylineApi } from '../contract/api.ts';
import { connectBridge, tokenFromHash } from './api/bridge-client.ts';
import { App } from './app.tsx';
import './styles.css';

/** The preload's object under Electron; otherwise the loopback bridge, if a token is given. */
function pickApi(): KeylineApi | null {
  if (window.keyline) return window.keyline;
  const token = tokenFromHash(window.location.hash);
  if (!token) return null;
  return connectBridge(`ws://${window.location.host}/bridge`, token);
}

const root = createRoot(document.getElementById('root') as HTMLElement);
const api = pickApi();
root.render(
  <StrictMode>
    {api ? (
      <App api={api} />
    ) : (
      <main className="fatal" role="alert">
        <h1>No connection to a station</h1>
        <p>
          Open the address printed by <code>keyline ui</code>, including its <code>#token=…</code>{' '}
          part.
        </p>
      </main>
    )}
  </StrictMode>,
);
