/**
 * The loopback bridge: serves the built renderer over HTTP on 127.0.0.1 and carries the
 * same typed API as Electron's IPC over a WebSocket. Every WebSocket needs the per-start
 * token; every call goes through the same dispatcher (validation, errors as data, secret
 * check) as the Electron handlers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Access } from '../../contract/api.ts';
import { watchChannels } from '../../contract/channels.ts';
import { bridgeCallSchema } from '../../contract/schemas.ts';
import type { Dispatch } from '../app/dispatch.ts';
import { failure } from '../app/errors.ts';
import type { EventHub } from '../app/events.ts';
import { bridgeCsp } from '../electron/csp.ts';
import { BridgeError } from './errors.ts';
import { readStatic } from './static-files.ts';
import { bridgeProtocol, newBridgeToken, offeredTokenMatches } from './token.ts';

export interface BridgeOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Folder of the built renderer (index.html and assets). */
  rendererDir: string;
  dispatch: Dispatch;
  events: EventHub;
  /** 'watch' serves a read-only view (a supervisor): only `watchChannels` are answered. */
  access?: Access;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
  log?: (line: string) => void;
}

export interface BridgeServer {
  readonly port: number;
  readonly token: string;
  /** http://127.0.0.1:P/#token=… — the address to open. */
  readonly url: string;
  /** Number of connected WebSocket clients. */
  clients(): number;
  close(): Promise<void>;
}

const maxFrameBytes = 1 << 20;

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export async function startBridge(opts: BridgeOptions): Promise<BridgeServer> {
  const token = opts.token ?? newBridgeToken();
  const log = opts.log ?? (() => {});
  let port = opts.port;
  const hostOk = (req: IncomingMessage) => req.headers.host === `127.0.0.1:${port}`;

  async function serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = {
      'Content-Security-Policy': bridgeCsp(port),
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    // A Host check defeats DNS rebinding: only the literal loopback address is served.
    if (!hostOk(req)) {
      res.writeHead(421, headers).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = await readStatic(opts.rendererDir, req.url ?? '/');
    if (!file) {
      res.writeHead(404, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': file.contentType });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (protocols) => (protocols.has(bridgeProtocol) ? bridgeProtocol : false),
  });

  const access: Access = opts.access ?? 'operate';
  const allowed = new Set<string>(watchChannels);
  const dispatch: Dispatch = (channel, request) =>
    access === 'watch' && !allowed.has(String(channel))
      ? Promise.resolve(
          failure('forbidden', `${String(channel).slice(0, 64)}: this view is watch-only`),
        )
      : opts.dispatch(channel, request);

  function attach(ws: WebSocket): void {
    ws.send(JSON.stringify({ type: 'hello', access }));
    const disconnect = opts.events.connect((channel, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'event', channel, payload }));
    });
    ws.on('close', disconnect);
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let raw: unknown;
        try {
          if (isBinary) throw new Error('binary frame');
          raw = JSON.parse(String(data));
        } catch {
          ws.close(1003, 'frames must be JSON text');
          return;
        }
        const call = bridgeCallSchema.safeParse(raw);
        if (!call.success) {
          const id = (raw as { id?: unknown } | null)?.id;
          if (typeof id === 'number') {
            const result = failure('invalid-request', 'malformed call envelope');
            ws.send(JSON.stringify({ type: 'result', id, result }));
          } else ws.close(1008, 'malformed call envelope');
          return;
        }
        const result = await dispatch(call.data.channel, call.data.request);
        if (ws.readyState === ws.OPEN) {
          ws.send(JSON.stringify({ type: 'result', id: call.data.id, result }));
        }
      })();
    });
  }

  const server = createServer((req, res) => {
    serveHttp(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/bridge' || !hostOk(req)) return refuseUpgrade(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    // Browsers always send Origin; a page from any other site must not drive the station.
    if (origin !== undefined && origin !== `http://127.0.0.1:${port}`) {
      log(`bridge: refused WebSocket from origin ${origin.slice(0, 100)}`);
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (!offeredTokenMatches(req.headers['sec-websocket-protocol'], token)) {
      log('bridge: refused WebSocket without a valid token');
      return refuseUpgrade(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(
        new BridgeError(`cannot listen on 127.0.0.1:${opts.port}: ${e.code ?? e.message}`, {
          port: opts.port,
        }),
      );
    server.once('error', onError);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : opts.port;
  log(`bridge: listening on 127.0.0.1:${port}`);

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/#token=${token}`,
    clients: () => wss.clients.size,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
