/**
 * Product profiles the operator can choose: the ones shipped in the repository's
 * profiles/ folder and any in the station directory's profiles/ folder (the station's
 * own take precedence on a name clash).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProfileSummary } from '../../contract/types.ts';
import { loadProfile, type LoadedProfile } from '../profile/index.ts';

export const bundledProfilesDir = join(import.meta.dirname, '..', '..', 'profiles');

async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

export interface ProfileCatalog {
  byName: Map<string, LoadedProfile>;
  /** Files that failed to load, with the reason (shown in the log, not fatal). */
  problems: string[];
}

export async function loadProfileCatalog(stationDir: string | null): Promise<ProfileCatalog> {
  const files = [
    ...(await jsonFiles(bundledProfilesDir)),
    ...(stationDir ? await jsonFiles(join(stationDir, 'profiles')) : []),
  ];
  const byName = new Map<string, LoadedProfile>();
  const problems: string[] = [];
  for (const f of files) {
    try {
      const loaded = await loadProfile(f);
      byName.set(loaded.profile.name, loaded);
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { byName, problems };
}

export function summarize(loaded: LoadedProfile): ProfileSummary {
  const p = loaded.profile;
  return {
    name: p.name,
    description: p.description ?? '',
    modem: `${p.modem.expectedModels?.join('/') || 'any modem'} + STM32${p.mcu.family}`,
    readoutProtection: p.mcu.readoutProtection,
  };
}
