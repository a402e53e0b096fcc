import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const out = join(root, 'out');

// `npm run build` is `electron-vite build --config electron.config.ts`; it needs no
// Electron binary, so it must succeed here.
test('npm run build produces main, a self-contained CJS preload and a CSP-clean renderer', () => {
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/electron-vite/bin/electron-vite.js'),
      'build',
      '--config',
      'electron.config.ts',
    ],
    { cwd: root, encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(r.status, 0, `build failed:\n${r.stdout}\n${r.stderr}`);

  assert.ok(existsSync(join(out, 'main', 'index.js')));
  const mainJs = readFileSync(join(out, 'main', 'index.js'), 'utf8');
  assert.match(mainJs, /sandbox: true/);
  assert.match(mainJs, /contextIsolation: true/);
  assert.match(mainJs, /nodeIntegration: false/);
  // The hardening is in the shipped bundle, not only in the sources.
  for (const needle of [
    'setPermissionRequestHandler',
    'setWindowOpenHandler',
    'will-navigate',
    'onHeadersReceived',
    'Content-Security-Policy',
    'webSecurity: true',
  ]) {
    assert.ok(mainJs.includes(needle), `main bundle lacks ${needle}`);
  }

  const preloadFiles = readdirSync(join(out, 'preload'));
  assert.deepEqual(preloadFiles, ['index.cjs'], 'the preload must be exactly one file');
  const preload = readFileSync(join(out, 'preload', 'index.cjs'), 'utf8');
  const required = [...preload.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
  assert.doesNotMatch(
    preload,
    /^\s*import\s|\bimport\(/m,
    'a sandboxed preload cannot use ESM imports',
  );
  assert.match(preload, /exposeInMainWorld\(\s*["']keyline["']/);
  assert.doesNotMatch(preload, /\bzod\b/, 'the preload must not bundle zod (channel names only)');

  const html = readFileSync(join(out, 'renderer', 'index.html'), 'utf8');
  const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
  assert.ok(csp, 'renderer/index.html carries a CSP meta tag');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:\*/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*\.|https?:/);
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(
      attrs,
      /src="\.\/assets\/[^"]+\.js"/,
      'scripts load from files (no inline script)',
    );
    assert.equal(body.trim(), '');
    const src = /src="\.\/([^"]+)"/.exec(attrs)?.[1] as string;
    const js = readFileSync(join(out, 'renderer', src), 'utf8');
    assert.doesNotMatch(js, /\beval\(|new Function\(/, 'CSP forbids eval');
  }
  assert.doesNotMatch(html, /\sstyle="/, 'no inline style attributes');
});
