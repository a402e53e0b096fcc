/**
 * The browser transport: implements the same KeylineApi as the Electron preload over the
 * loopback WebSocket bridge. The per-start token comes from the page URL's fragment
 * (never sent in an HTTP request) and is offered on the WebSocket handshake.
 */
import type { Access, KeylineApi } from '../../contract/api.ts';
import type { EventChannel, RequestChannel } from '../../contract/channels.ts';
import type { Failure, Result } from '../../contract/result.ts';

type Listener = (payload: unknown) => void;

interface Pending {
  resolve: (r: Result<unknown>) => void;
  timer: ReturnType<typeof setTimeout>;
}

const callTimeoutMs = 120_000;

function unavailable(message: string): Failure {
  return { ok: false, code: 'unavailable', kind: 'defect', message, details: {} };
}

/** Reads `token` from a fragment like `#token=abc`. */
export function tokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const t = params.get('token');
  return t && /^[A-Za-z0-9_-]{16,128}$/.test(t) ? t : null;
}

export interface BridgeClient extends KeylineApi {
  /** Subscribe to connection state changes (true = connected). */
  onConnection(listener: (connected: boolean) => void): () => void;
  close(): void;
}

export function connectBridge(url: string, token: string): BridgeClient {
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventChannel, Set<Listener>>();
  const connListeners = new Set<(c: boolean) => void>();
  const queue: string[] = [];
  let nextId = 1;
  let ws: WebSocket | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | null = null;
  // Until the bridge says otherwise, assume the least: a watch-only view.
  let access: Access = 'watch';

  const setConnected = (c: boolean) => connListeners.forEach((l) => l(c));

  function open(): void {
    const socket = new WebSocket(url, ['keyline.v1', `token.${token}`]);
    ws = socket;
    socket.onopen = () => {
      setConnected(true);
      while (queue.length) socket.send(queue.shift() as string);
    };
    socket.onmessage = (ev) => {
      let msg: {
        type?: string;
        access?: string;
        id?: number;
        result?: Result<unknown>;
        channel?: string;
        payload?: unknown;
      };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        access = msg.access === 'operate' ? 'operate' : 'watch';
        setConnected(true);
      } else if (msg.type === 'result' && typeof msg.id === 'number') {
        const p = pending.get(msg.id);
        if (!p || !msg.result) return;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        p.resolve(msg.result);
      } else if (msg.type === 'event' && msg.channel) {
        listeners.get(msg.channel as EventChannel)?.forEach((l) => l(msg.payload));
      }
    };
    socket.onclose = () => {
      setConnected(false);
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.resolve(unavailable('connection to the station was lost'));
        pending.delete(id);
      }
      if (!closed) retry = setTimeout(open, 2000);
    };
  }
  open();

  return {
    transport: 'bridge',
    get access() {
      return access;
    },
    call(channel: RequestChannel, request: unknown) {
      const id = nextId++;
      const frame = JSON.stringify({ type: 'call', id, channel, request });
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve(
            unavailable(`${channel}: no answer from the station within ${callTimeoutMs / 1000} s`),
          );
        }, callTimeoutMs);
        pending.set(id, { resolve, timer });
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(frame);
        else queue.push(frame);
      }) as never;
    },
    subscribe(channel, listener) {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener as Listener);
      return () => {
        set.delete(listener as Listener);
      };
    },
    onConnection(listener) {
      connListeners.add(listener);
      return () => connListeners.delete(listener);
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    },
  };
}
