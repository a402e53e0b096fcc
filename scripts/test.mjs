// Test entry point: finds every *.test.ts under test/ (or a subfolder given as argument)
// and hands them to node's own test runner with tsx for TypeScript.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sub = process.argv[2] ?? '';
const start = join(root, 'test', sub);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

// The full run (no folder given) also typechecks and lints: a type error is a failing test.
if (!sub) {
  for (const [what, args] of [
    ['typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['lint', ['node_modules/eslint/bin/eslint.js', '.']],
  ]) {
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`${what} failed`);
      process.exit(r.status ?? 1);
    }
  }
}

const files = walk(start);
if (files.length === 0) {
  console.error(`no test files under ${relative(root, start) || 'test'}`);
  process.exit(1);
}
const concurrency = process.env.KEYLINE_TEST_CONCURRENCY ?? '2';
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } },
);
process.exit(res.status ?? 1);
