// `npm start`: build and launch the Electron station app. Electron's binary is not part of
// `npm install` here (its postinstall downloads from outside the npm registry), so fetch it
// on demand and, where that is impossible, say in one line what to do instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));
const electronDir = join(root, 'node_modules', 'electron');

function electronBinary() {
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

if (!existsSync(electronDir)) {
  console.error('keyline: electron is not installed; run `npm install` first.');
  process.exit(1);
}
let bin = electronBinary();
if (!bin) {
  const r = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    cwd: electronDir,
    stdio: 'ignore',
    timeout: 120_000,
  });
  bin = r.status === 0 ? electronBinary() : null;
}
if (!bin) {
  console.error(
    'keyline: the Electron binary is missing and cannot be downloaded from here; on a machine with internet run `node node_modules/electron/install.js`, or use the browser UI: `npx keyline ui --port 5870`.',
  );
  process.exit(1);
}
const build = spawnSync(
  process.execPath,
  [
    require.resolve('electron-vite/bin/electron-vite.js'),
    'build',
    '--config',
    'electron.config.ts',
  ],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(bin, ['.'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 0);
