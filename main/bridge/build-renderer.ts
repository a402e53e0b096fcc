/**
 * Builds the renderer (vite) into out/renderer when the bridge starts and no build is
 * there yet. Same inputs as electron.config.ts's renderer section.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeError } from './errors.ts';

/** Repository root (this file lives in main/bridge/). */
export const repoRoot = join(import.meta.dirname, '..', '..');
export const defaultRendererDir = join(repoRoot, 'out', 'renderer');

export async function buildRenderer(outDir = defaultRendererDir): Promise<string> {
  const [{ build }, { default: react }] = await Promise.all([
    import('vite'),
    import('@vitejs/plugin-react'),
  ]);
  try {
    await build({
      configFile: false,
      root: join(repoRoot, 'renderer'),
      base: './',
      logLevel: 'warn',
      plugins: [react()],
      build: { outDir, emptyOutDir: true },
    });
  } catch (e) {
    throw new BridgeError(`renderer build failed: ${(e as Error).message.split('\n')[0]}`, {
      path: outDir,
    });
  }
  return outDir;
}

/** Returns the renderer folder, building it first if index.html is missing. */
export async function ensureRendererBuilt(outDir = defaultRendererDir): Promise<string> {
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  return buildRenderer(outDir);
}
