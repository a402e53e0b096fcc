import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-ui-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

test('keyline ui builds the renderer if missing, prints a tokened loopback URL, refuses tokenless sockets, exits on SIGTERM', async () => {
  const rendererDir = join(dir, 'renderer');
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/keyline.mjs'),
      'ui',
      '--port',
      '0',
      '--json',
      '--station',
      join(dir, 'station'),
      '--renderer-dir',
      rendererDir,
      '--watch-port',
      '0',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`no URL printed; stderr: ${stderr}`)),
        180_000,
      );
      child.stdout.on('data', (c) => {
        out += c;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.once('exit', () => reject(new Error(`exited early; stderr: ${stderr}`)));
    });
    const info = JSON.parse(first) as { url: string; port: number; watchUrl: string };
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
    assert.match(info.watchUrl, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
    assert.notEqual(
      info.watchUrl.split('#')[1],
      info.url.split('#')[1],
      'each bridge has its own token',
    );
    assert.ok(existsSync(join(rendererDir, 'index.html')), 'the renderer was built on start');
    const page = await httpGet(info.url.split('#')[0]);
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="root">/);

    const refused = await new Promise<number | undefined>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${info.port}/bridge`, ['keyline.v1']);
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(undefined));
      ws.once('error', reject);
    });
    assert.equal(refused, 401);

    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('no exit within 30 s of SIGTERM'), 30_000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
