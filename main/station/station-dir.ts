import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir, writeFileAtomic } from './atomic-write.ts';
import { StationExistsError } from './errors.ts';
import { STATION_FILES } from './layout.ts';

export interface StationFile {
  name: string;
  data: string | Uint8Array;
  mode: number;
}

/**
 * Publishes a complete station directory in one step: every file is written and fsynced
 * into a sibling temp directory, which is then renamed into place. A crash or a failure
 * leaves either no station or the whole station, never a partial one. An existing station
 * is refused unless `force`, in which case it is moved aside (returned as `replacedDir`).
 */
export function publishStationDir(
  dir: string,
  files: readonly StationFile[],
  force: boolean,
): { replacedDir?: string } {
  const target = resolve(dir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  let targetExistsNonEmpty = false;
  if (existsSync(target)) {
    if (!statSync(target).isDirectory())
      throw new StationExistsError(target, 'a file with that name exists');
    if (readdirSync(target).length > 0) {
      targetExistsNonEmpty = true;
      if (!force)
        throw new StationExistsError(
          target,
          existsSync(join(target, STATION_FILES.config))
            ? 'a station already exists'
            : 'the directory is not empty',
        );
    }
  }
  const tag = randomBytes(4).toString('hex');
  const tmp = join(parent, `.${basename(target)}.creating-${tag}`);
  mkdirSync(tmp, { mode: 0o700 });
  let replacedDir: string | undefined;
  try {
    for (const f of files) writeFileAtomic(join(tmp, f.name), f.data, f.mode);
    fsyncDir(tmp);
    if (targetExistsNonEmpty) {
      replacedDir = `${target}.replaced-${new Date().toISOString().replace(/[-:.]/g, '')}-${tag}`;
      renameSync(target, replacedDir);
    }
    try {
      renameSync(tmp, target); // replaces an empty directory atomically on POSIX
    } catch (e) {
      if (replacedDir) renameSync(replacedDir, target);
      replacedDir = undefined;
      throw e;
    }
    fsyncDir(parent);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return replacedDir ? { replacedDir } : {};
}
