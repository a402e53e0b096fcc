import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';
import { startBridge, type BridgeServer } from '../../main/bridge/server.ts';

let dir: string;
let app: StationApp;
let bridge: BridgeServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-bridge-'));
  const renderer = join(dir, 'renderer');
  await mkdir(join(renderer, 'assets'), { recursive: true });
  await writeFile(join(renderer, 'index.html'), '<!doctype html><title>keyline</title>');
  await writeFile(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'outside the renderer');
  app = createStationApp({ stationDir: join(dir, 'station') });
  bridge = await startBridge({
    port: 0,
    rendererDir: renderer,
    dispatch: app.dispatch,
    events: app.events,
  });
});

after(async () => {
  await bridge.close();
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, host = `127.0.0.1:${bridge.port}`) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: bridge.port, path, headers: { host } },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    },
  );
}

/** Opens a WebSocket; resolves with the socket, or with the HTTP status it was refused with. */
function connect(protocols: string[], headers: Record<string, string> = {}) {
  return new Promise<{ ws?: WebSocket; refused?: number }>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/bridge`, protocols, {
      headers,
      handshakeTimeout: 10_000,
    });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ refused: res.statusCode });
      res.resume();
    });
    ws.once('error', (e) => reject(e));
  });
}

function call(ws: WebSocket, msg: unknown) {
  return new Promise<{
    type: string;
    id: number;
    result: { ok: boolean; code?: string; value?: unknown };
  }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer')), 10_000);
    ws.on('message', function onMsg(data) {
      const m = JSON.parse(String(data));
      if (m.type !== 'result') return;
      clearTimeout(timer);
      ws.off('message', onMsg);
      resolve(m);
    });
    ws.send(JSON.stringify(msg));
  });
}

test('the URL carries a long random token in the fragment, on loopback', () => {
  assert.match(bridge.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
});

test('serves the renderer with a strict CSP and nothing outside it', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(String(index.headers['content-security-policy']), /script-src 'self'/);
  assert.match(
    String(index.headers['content-security-policy']),
    new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${bridge.port}`),
  );
  assert.ok(!String(index.headers['content-security-policy']).includes('unsafe'));
  assert.equal((await get('/assets/app.js')).status, 200);
  for (const p of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/../../secret.txt',
    '/.hidden',
    '/nope.js',
  ]) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.includes('outside the renderer'));
  }
  assert.equal((await get('/', 'evil.example:80')).status, 421, 'a rebinding Host must be refused');
});

test('a WebSocket without the token, with a wrong token or from another origin is refused', async () => {
  assert.equal((await connect(['keyline.v1'])).refused, 401);
  assert.equal((await connect(['keyline.v1', 'token.' + 'x'.repeat(32)])).refused, 401);
  assert.equal((await connect(['keyline.v1', 'token.' + bridge.token.slice(0, -1)])).refused, 401);
  assert.equal(
    (await connect(['keyline.v1', `token.${bridge.token}`], { Origin: 'http://evil.example' }))
      .refused,
    403,
  );
  assert.equal(bridge.clients(), 0);
});

test('with the token, calls go through the same validation as IPC and events arrive', async () => {
  const { ws } = await connect(['keyline.v1', `token.${bridge.token}`], {
    Origin: `http://127.0.0.1:${bridge.port}`,
  });
  assert.ok(ws);
  assert.equal(ws.protocol, 'keyline.v1');
  const status = await call(ws, { type: 'call', id: 1, channel: 'station:status', request: {} });
  assert.equal(status.id, 1);
  assert.equal(status.result.ok, true);
  const extra = await call(ws, {
    type: 'call',
    id: 2,
    channel: 'station:status',
    request: { x: 1 },
  });
  assert.equal(extra.result.ok, false);
  assert.equal(extra.result.code, 'invalid-request');
  const unknown = await call(ws, { type: 'call', id: 3, channel: 'shell:exec', request: {} });
  assert.equal(unknown.result.code, 'invalid-request');
  const envelope = await call(ws, {
    type: 'call',
    id: 4,
    channel: 'station:status',
    request: {},
    admin: true,
  });
  assert.equal(envelope.result.code, 'invalid-request');

  const event = new Promise<{ type: string; channel: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event')), 10_000);
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'event') {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
  app.events.emit('fixture:changed', { running: false, slots: [], faults: [] });
  assert.deepEqual(await event, {
    type: 'event',
    channel: 'fixture:changed',
    payload: { running: false, slots: [], faults: [] },
  });

  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send('{not json');
  assert.equal(await closed, 1003);
});

test('a watch-only bridge on the same station answers reads and refuses every change', async () => {
  const watch = await startBridge({
    port: 0,
    rendererDir: join(dir, 'renderer'),
    dispatch: app.dispatch,
    events: app.events,
    access: 'watch',
  });
  try {
    assert.notEqual(watch.token, bridge.token);
    // Listen from the start: the hello frame can arrive in the same tick as 'open'.
    const w = new WebSocket(`ws://127.0.0.1:${watch.port}/bridge`, [
      'keyline.v1',
      `token.${watch.token}`,
    ]);
    const helloP = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no hello')), 10_000);
      w.once('message', (d) => {
        clearTimeout(timer);
        resolve(JSON.parse(String(d)));
      });
    });
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no open')), 10_000);
      w.once('open', () => {
        clearTimeout(timer);
        resolve(w);
      });
      w.once('error', reject);
    });
    const hello = await helloP;
    assert.deepEqual(hello, { type: 'hello', access: 'watch' });
    const status = await call(ws, { type: 'call', id: 1, channel: 'station:status', request: {} });
    assert.equal(status.result.ok, true);
    const slots = [{ slot: 1, modemPort: '/dev/a', mcuPort: '/dev/b' }];
    for (const [channel, request] of [
      ['batch:start', { slots }],
      ['station:lock', {}],
      ['ledger:export', { outDir: join(dir, 'x') }],
      ['fixture:start-virtual', { slots: 1 }],
    ] as const) {
      const r = await call(ws, { type: 'call', id: 2, channel, request });
      assert.equal(r.result.code, 'forbidden', channel);
    }
    ws.close();
  } finally {
    await watch.close();
  }
});
