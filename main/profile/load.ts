import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { productProfileSchema, type ProductProfile } from './schema.ts';

/** One problem in a profile, named by its JSON path ("mcu.credentialArea.address"). */
export interface ProfileIssue {
  field: string;
  message: string;
}

/** A profile that cannot be used; `issues` names every bad field. */
export class ProfileError extends Error {
  override name = 'ProfileError';
  constructor(
    readonly source: string,
    readonly issues: ProfileIssue[],
  ) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(
      `profile ${source}: ${first ? `${first.field || '(root)'} ${first.message}` : 'invalid'}${more}`,
    );
  }
}

/** A loaded profile together with the folder relative paths in it are resolved against. */
export interface LoadedProfile {
  profile: ProductProfile;
  /** Absolute path of the file, or the source label for in-memory profiles. */
  source: string;
  baseDir: string;
}

/** Validates an already-parsed JSON value. Throws ProfileError naming every bad field. */
export function parseProfile(value: unknown, source = '<inline>'): ProductProfile {
  const r = productProfileSchema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    field: i.path.map(String).join('.'),
    message: i.message,
  }));
  throw new ProfileError(source, issues);
}

/** Reads, parses and validates a profile file. */
export async function loadProfile(path: string): Promise<LoadedProfile> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new ProfileError(abs, [
      { field: '', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? e})` },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(abs, [{ field: '', message: `is not JSON: ${(e as Error).message}` }]);
  }
  return { profile: parseProfile(json, abs), source: abs, baseDir: dirname(abs) };
}

/**
 * The PEM of the server CA the modem must trust, normalised to LF line endings (the module
 * reports sizes and checksums of exactly these bytes). `stationRootPem` serves the
 * development-only "station-root" choice.
 */
export async function resolveServerCaPem(
  loaded: Pick<LoadedProfile, 'profile' | 'source' | 'baseDir'>,
  stationRootPem: string,
): Promise<string> {
  const ca = loaded.profile.modem.serverCa;
  let pem: string;
  switch (ca.kind) {
    case 'inline':
      pem = ca.pem;
      break;
    case 'station-root':
      pem = stationRootPem;
      break;
    case 'file': {
      const p = isAbsolute(ca.path) ? ca.path : resolve(loaded.baseDir, ca.path);
      try {
        pem = await readFile(p, 'utf8');
      } catch (e) {
        throw new ProfileError(loaded.source, [
          {
            field: 'modem.serverCa.path',
            message: `cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? e})`,
          },
        ]);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw new ProfileError(loaded.source, [
          { field: 'modem.serverCa.path', message: `${p} holds no PEM certificate` },
        ]);
      break;
    }
  }
  const lf = pem.replace(/\r\n?/g, '\n');
  return lf.endsWith('\n') ? lf : lf + '\n';
}
