import { Flags, UsageError, parseArgs } from '../args.ts';
import type { CliIO } from '../io.ts';
import { openProvisioningLine } from '../../pipeline/line.ts';
import { createProgressView, viewModeFor } from '../../pipeline/progress-view.ts';
import { parseSlotSpecs, SlotSpecError } from '../../pipeline/slot-spec.ts';
import { unlockStation } from '../../pipeline/station.ts';
import { stationUsesToken } from '../../hsm/unlock-secret.ts';
import { readStationConfig } from '../../station/index.ts';
import { readSecret } from '../../station/secret-input.ts';

const HELP = `usage: keyline provision --station DIR --profile FILE --slot modem=PORT,mcu=PORT[,name=N] ...
                         [--batch ID] [--work-order WO] [--operator NAME] [--reprovision] [--json]

Provisions one board per --slot, all slots at once. The station passphrase comes from
KEYLINE_PASSPHRASE (a token station's PIN from KEYLINE_PIN) or a prompt. --reprovision
revokes the certificates of boards already committed and issues new ones. The batch's caps
are recorded in the ledger when it starts (a --work-order shares the profile's
caps.perWorkOrder across its batches); raise them with keyline caps raise. Exit code 1 if
any slot failed.
`;

/** Reads the station passphrase from the environment or the terminal; never from argv. */
export async function stationPassphrase(io: CliIO): Promise<string> {
  const env = io.env.KEYLINE_PASSPHRASE;
  if (env !== undefined && env !== '') return env;
  if (!io.promptSecret)
    throw new UsageError('no station passphrase: set KEYLINE_PASSPHRASE or run on a terminal');
  return io.promptSecret('Station passphrase: ');
}

/** `keyline provision`: one board per slot, concurrently, with live progress. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const f = new Flags(parseArgs(argv, ['reprovision']));
  if (f.bool('help')) {
    io.stdout.write(HELP);
    return 0;
  }
  const stationDir = f.required('station');
  const profilePath = f.required('profile');
  let slots;
  try {
    slots = parseSlotSpecs(f.all('slot'));
  } catch (e) {
    if (e instanceof SlotSpecError) throw new UsageError(e.message);
    throw e;
  }
  if (slots.length === 0) throw new UsageError('give at least one --slot modem=PORT,mcu=PORT');
  const batch = f.string('batch');
  const workOrder = f.string('work-order');
  const operator = f.string('operator') ?? io.env.USER ?? 'operator';
  const reprovision = f.bool('reprovision');
  const json = f.bool('json');
  f.rejectUnknown();

  // A token station is unlocked by its PIN (KEYLINE_PIN), a file station by its passphrase.
  const passphrase = stationUsesToken(readStationConfig(stationDir))
    ? await readSecret(io, 'KEYLINE_PIN', 'token PIN')
    : await stationPassphrase(io);
  const station = await unlockStation(stationDir, passphrase);
  const view = createProgressView(viewModeFor(json, io.stdout), io.stdout);
  try {
    const line = await openProvisioningLine({
      station,
      profile: profilePath,
      operator,
      reprovision,
      onEvent: (e) => view.onEvent(e),
      ...(batch !== undefined ? { batch } : {}),
      ...(workOrder !== undefined ? { workOrder } : {}),
    });
    let result;
    try {
      result = await line.runner.run(slots, io.signal);
    } finally {
      view.finish();
      await line.close();
    }
    const summary = {
      ok: result.failed.length === 0,
      batch: result.batch,
      passed: result.passed.length,
      failed: result.failed.length,
      recovered: result.recovered.length,
      elapsedMs: result.elapsedMs,
    };
    if (json) io.stdout.write(JSON.stringify({ type: 'summary', ...summary }) + '\n');
    else
      io.stdout.write(
        `${summary.ok ? 'OK' : 'FAILED'}: batch ${summary.batch}, ${summary.passed} passed, ${summary.failed} failed\n`,
      );
    return summary.ok ? 0 : 1;
  } finally {
    view.finish();
    station.close();
  }
}
