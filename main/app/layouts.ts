/**
 * Saved fixture layouts: which serial ports serve which slot, as JSON files in the
 * station directory (`layouts/<name>.json`), written atomically.
 */
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { FixtureLayout, SlotAssignment } from '../../contract/types.ts';
import { slotAssignmentSchema } from '../../contract/schemas.ts';
import { StationAppError } from './errors.ts';

const fileSchema = z.strictObject({
  name: z.string(),
  savedAt: z.string(),
  slots: z.array(slotAssignmentSchema),
});

const namePattern = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;

export function layoutsDir(stationDir: string): string {
  return join(stationDir, 'layouts');
}

function fileOf(stationDir: string, name: string): string {
  if (!namePattern.test(name) || name.includes('..')) {
    throw new StationAppError(
      'invalid-input',
      `layout name "${name.slice(0, 64)}" is not allowed`,
      { name: name.slice(0, 64) },
    );
  }
  return join(layoutsDir(stationDir), `${name}.json`);
}

export async function saveLayout(
  stationDir: string,
  name: string,
  slots: SlotAssignment[],
): Promise<FixtureLayout> {
  const file = fileOf(stationDir, name);
  const layout: FixtureLayout = { name, slots, savedAt: new Date().toISOString() };
  await mkdir(layoutsDir(stationDir), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(layout, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, file);
  return layout;
}

export async function loadLayout(stationDir: string, name: string): Promise<FixtureLayout> {
  const file = fileOf(stationDir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new StationAppError('not-found', `no saved layout "${name}"`, { name });
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new StationAppError('invalid-input', `layout "${name}" is damaged`, { name, file });
  return parsed.data;
}

export async function listLayouts(stationDir: string): Promise<FixtureLayout[]> {
  let names: string[];
  try {
    names = (await readdir(layoutsDir(stationDir))).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: FixtureLayout[] = [];
  for (const n of names.sort()) {
    try {
      out.push(await loadLayout(stationDir, n.slice(0, -'.json'.length)));
    } catch {
      // A damaged file is skipped in the list; loading it by name reports why.
    }
  }
  return out;
}
