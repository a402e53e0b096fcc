/**
 * `keyline caps raise --station DIR --reason TEXT [--operator NAME] [--json]` with one of
 * `--batch B --per-batch N`, `--per-hour N`, `--work-order W --per-work-order N`: raises an
 * issuance cap as a recorded ledger action. The station passphrase or token PIN is asked
 * for again (KEYLINE_PASSPHRASE / KEYLINE_PIN or a prompt).
 */
import { raiseIssuanceCap, type RaiseCapRequest } from '../../pipeline/cap-raise.ts';
import { readUnlockSecret } from '../../hsm/unlock-secret.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

const USAGE = `usage:
  keyline caps raise --station DIR --batch B --per-batch N --reason TEXT [--operator NAME] [--json]
  keyline caps raise --station DIR --per-hour N --reason TEXT [--operator NAME] [--json]
  keyline caps raise --station DIR --work-order W --per-work-order N --reason TEXT [--operator NAME] [--json]

Issuance caps live in the station's signed ledger (a batch-start record when a batch starts);
editing a profile does not change a started batch. Raising one is recorded (operator, reason,
old and new limit) and needs the station passphrase (KEYLINE_PASSPHRASE) or token PIN
(KEYLINE_PIN), or a prompt. Run it while no provisioning line holds the station's ledger.
`;

function positiveInt(flags: Flags, name: string): number {
  const v = flags.string(name);
  if (v === undefined || !/^[1-9][0-9]*$/.test(v))
    throw new UsageError(`--${name} must be a positive integer`);
  return Number(v);
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv));
  if (flags.bool('help')) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [sub, ...extra] = flags.positionals;
  if (sub !== 'raise' || extra.length)
    throw new UsageError('usage: keyline caps raise --station DIR ...');
  const json = flags.bool('json');
  const stationDir = flags.required('station');
  const reason = flags.required('reason');
  const operator = flags.string('operator') ?? io.env.USER ?? 'operator';
  let req: RaiseCapRequest;
  const given = ['per-batch', 'per-hour', 'per-work-order'].filter(
    (n) => flags.string(n) !== undefined,
  );
  if (given.length !== 1)
    throw new UsageError('give exactly one of --per-batch, --per-hour, --per-work-order');
  if (given[0] === 'per-batch')
    req = {
      scope: 'batch',
      target: flags.required('batch'),
      limit: positiveInt(flags, 'per-batch'),
      operator,
      reason,
    };
  else if (given[0] === 'per-hour')
    req = { scope: 'hour', limit: positiveInt(flags, 'per-hour'), operator, reason };
  else
    req = {
      scope: 'work-order',
      target: flags.required('work-order'),
      limit: positiveInt(flags, 'per-work-order'),
      operator,
      reason,
    };
  flags.rejectUnknown();
  const secret = await readUnlockSecret(io, stationDir);
  const r = await raiseIssuanceCap(stationDir, secret, req);
  if (json) printJson(io, { ok: true, ...r });
  else
    io.stdout.write(
      `raised the ${r.scope} cap of ${r.target} from ${r.previousLimit} to ${r.limit} (ledger record #${r.index}, checkpoint at ${r.checkpointTreeSize})\n`,
    );
  return 0;
}
