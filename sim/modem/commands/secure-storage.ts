import { intArg } from '../at-line.ts';
import { formatChecksum, quectelChecksum } from '../checksum.ts';
import type { CommandContext, CommandHandler } from '../context.ts';
import { error, ok } from '../reply.ts';
import { resolveFileName, type FileRef } from '../store.ts';
import { receiveAndStore } from './files.ts';

/**
 * NVRAM holds the fixed credential slots (CA/CC/CK + digit; Quectel's OpenCPU example
 * uses CA0/CC0/CK0) of at most 2017 bytes each — a limit one library states and the
 * reference leaves UNCONFIRMED; the simulator enforces it so oversize writes fail loudly.
 */
export const nvramFileLimit = 2017;
const nvramName = /^(CA|CC|CK)[0-9]$/;

/** QSEC* names must carry NVRAM: or RAM:; anything else is ERROR. */
function secRef(raw: string | undefined): FileRef | null {
  if (raw === undefined || !/^(NVRAM|RAM):/i.test(raw)) return null;
  const ref = resolveFileName(raw);
  if (!ref || (ref.storage === 'NVRAM' && !nvramName.test(ref.name))) return null;
  return ref;
}

function has(ctx: CommandContext): boolean {
  return ctx.traits.secureStorage;
}

/**
 * AT+QSECWRITE="<NVRAM:|RAM:name>",<size>[,<timeout>] → CONNECT, bytes,
 * `+QSECWRITE: <n>,<checksum>`, OK (checksum as QFUPL: UNCONFIRMED, the reference's best
 * guess). Overwrites an existing slot. The 2G error codes are UNCONFIRMED, so every
 * refusal (bad name, size, family without secure storage) is a plain ERROR. Default
 * timeout 10 s (UNCONFIRMED).
 */
const qsecwrite: CommandHandler = async (cmd, ctx) => {
  if (!has(ctx) || cmd.form !== 'set' || cmd.args.length < 2 || cmd.args.length > 3) return error();
  const ref = secRef(cmd.args[0].text);
  const size = intArg(cmd.args, 1);
  const timeoutS = cmd.args.length > 2 ? intArg(cmd.args, 2) : 10;
  if (!ref || size === null || size < 1 || timeoutS === null || timeoutS < 1) return error();
  const limit =
    ref.storage === 'NVRAM'
      ? nvramFileLimit
      : ctx.store.free('RAM') + (ctx.store.get(ref)?.length ?? 0);
  if (size > limit) return error();
  ctx.store.delete(ref);
  return receiveAndStore(ctx, ref, size, timeoutS, null, '+QSECWRITE');
};

/** AT+QSECREAD="<name>" → `+QSECREAD: 1,<checksum>`, or `+QSECREAD: 0,0` when absent; never the bytes. */
const qsecread: CommandHandler = async (cmd, ctx) => {
  if (!has(ctx) || cmd.form !== 'set' || cmd.args.length !== 1) return error();
  const ref = secRef(cmd.args[0].text);
  if (!ref) return error();
  await ctx.delay(ctx.latency.queryMs);
  const data = ctx.store.get(ref);
  return ok(data ? `+QSECREAD: 1,${formatChecksum(quectelChecksum(data))}` : '+QSECREAD: 0,0');
};

/** AT+QSECDEL="<name>" → OK; ERROR when the slot is empty (UNCONFIRMED code). */
const qsecdel: CommandHandler = async (cmd, ctx) => {
  if (!has(ctx) || cmd.form !== 'set' || cmd.args.length !== 1) return error();
  const ref = secRef(cmd.args[0].text);
  if (!ref) return error();
  await ctx.delay(ctx.latency.deleteMs);
  return ctx.store.delete(ref) ? ok() : error();
};

export const secureStorageCommands: ReadonlyMap<string, CommandHandler> = new Map([
  ['+QSECWRITE', qsecwrite],
  ['+QSECREAD', qsecread],
  ['+QSECDEL', qsecdel],
]);
