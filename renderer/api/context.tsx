import { createContext, useContext, useEffect, useState } from 'react';
import type { KeylineApi } from '../../contract/api.ts';
import type {
  EventChannel,
  EventOf,
  RequestChannel,
  RequestOf,
  ResponseOf,
} from '../../contract/channels.ts';
import type { Failure } from '../../contract/result.ts';

export const ApiContext = createContext<KeylineApi | null>(null);

/** False in a supervisor's watch-only view: controls that change the station are disabled. */
export const CanOperateContext = createContext(true);

export function useCanOperate(): boolean {
  return useContext(CanOperateContext);
}

export function useApi(): KeylineApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('ApiContext missing');
  return api;
}

/** Subscribes to a main → renderer event for the lifetime of the component. */
export function useEvent<E extends EventChannel>(
  channel: E,
  listener: (payload: EventOf<E>) => void,
): void {
  const api = useApi();
  useEffect(() => api.subscribe(channel, listener), [api, channel, listener]);
}

/**
 * A call with busy/error state for a form or button. `run` resolves to the value or null;
 * the failure (if any) is kept for display.
 */
export function useCall<C extends RequestChannel>(channel: C) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Failure | null>(null);
  async function run(request: RequestOf<C>): Promise<ResponseOf<C> | null> {
    setBusy(true);
    setError(null);
    try {
      const r = await api.call(channel, request);
      if (r.ok) return r.value;
      setError(r);
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { run, busy, error, clearError: () => setError(null) };
}
