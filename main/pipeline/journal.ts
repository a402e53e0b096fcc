import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Which step each open intent reached, so that after a crash the abort record can say
 * "station crashed during modem-write" instead of "unknown". Informational only: the
 * ledger alone decides what is committed, so these files are written without fsync and
 * a lost one just reads as "an unknown step".
 */
export class StepJournal {
  private ready: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  private file(intentIndex: number): string {
    return join(this.dir, `intent-${intentIndex}.json`);
  }

  async record(intentIndex: number, step: string): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    await this.ready;
    const tmp = `${this.file(intentIndex)}.tmp`;
    await writeFile(tmp, JSON.stringify({ intentIndex, step }));
    await rename(tmp, this.file(intentIndex));
  }

  /** The last step recorded for an intent, or undefined when none survived. */
  async lastStep(intentIndex: number): Promise<string | undefined> {
    try {
      const v = JSON.parse(await readFile(this.file(intentIndex), 'utf8')) as { step?: unknown };
      return typeof v.step === 'string' ? v.step : undefined;
    } catch {
      return undefined;
    }
  }

  async forget(intentIndex: number): Promise<void> {
    await rm(this.file(intentIndex), { force: true });
  }

  /**
   * Removes entries of intents that are closed (a crash between the commit and the
   * journal cleanup leaves one behind). `open` lists the intents still open.
   */
  async sweep(open: ReadonlySet<number>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const m = /^intent-(\d+)\.json(\.tmp)?$/.exec(name);
      if (!m || (open.has(Number(m[1])) && !m[2])) continue;
      await rm(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }
}
