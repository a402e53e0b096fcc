import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStation } from '../../main/station/index.ts';

export const PASSPHRASE = 'pipeline-test-passphrase';
export const repoRoot = new URL('../../', import.meta.url).pathname;

/** A fresh station with a development CA (fast KDF: tests only). */
export async function makeStation(dir: string): Promise<string> {
  const stationDir = join(dir, 'station');
  await createStation(stationDir, PASSPHRASE, {
    organization: 'keyline tests',
    kdfIterations: 1000,
  });
  return stationDir;
}

/**
 * Writes a copy of profiles/demo.json with overrides (caps, timeouts, RDP) and returns
 * its path.
 */
export async function writeProfile(
  dir: string,
  name: string,
  edit: (p: Record<string, Record<string, unknown>>) => void = () => {},
): Promise<string> {
  const p = JSON.parse(await readFile(join(repoRoot, 'profiles/demo.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  edit(p);
  const path = join(dir, `${name}.json`);
  await writeFile(path, JSON.stringify(p, null, 2));
  return path;
}
