import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StepJournal } from '../../main/pipeline/journal.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-journal-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('records the last step per intent, forgets it, and sweeps closed ones', async () => {
  const j = new StepJournal(join(dir, 'j'));
  assert.equal(await j.lastStep(3), undefined, 'nothing recorded yet');
  await j.record(3, 'intent');
  await j.record(3, 'modem-write');
  await j.record(7, 'mcu-write');
  await j.record(9, 'commit');
  assert.equal(await j.lastStep(3), 'modem-write');
  await j.forget(3);
  assert.equal(await j.lastStep(3), undefined);
  await writeFile(join(dir, 'j', 'intent-7.json.tmp'), '{');
  await writeFile(join(dir, 'j', 'unrelated.txt'), 'x');
  assert.equal(await j.sweep(new Set([7])), 2, 'closed intent 9 and a torn temp file');
  assert.deepEqual((await readdir(join(dir, 'j'))).sort(), ['intent-7.json', 'unrelated.txt']);
  await writeFile(join(dir, 'j', 'intent-7.json'), 'not json');
  assert.equal(await j.lastStep(7), undefined, 'a damaged entry reads as unknown');
  assert.equal(await new StepJournal(join(dir, 'missing')).sweep(new Set()), 0);
});
