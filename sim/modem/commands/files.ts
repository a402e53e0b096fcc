import { intArg } from '../at-line.ts';
import { formatChecksum, quectelChecksum } from '../checksum.ts';
import type { CommandContext, CommandHandler } from '../context.ts';
import { uploadCommitMs } from '../latency.ts';
import { cme, ok, type Reply } from '../reply.ts';
import { resolveFileName, type FileRef } from '../store.ts';
import type { ModemStorage } from '../types.ts';

/** Quectel file error codes (protocols.md), always printed numerically. */
export const FileError = {
  invalidInput: 400,
  driveFull: 403,
  notFound: 405,
  invalidName: 406,
  exists: 407,
  openFailed: 410,
  readFailed: 411,
  tooManyOpen: 413,
  invalidDescriptor: 416,
  noSpace: 420,
  timedOut: 421,
  invalidParameter: 425,
  alreadyOpen: 426,
} as const;

const maxOpenFiles = 8;
const ackBlock = 1024;

function listName(storage: ModemStorage, name: string): string {
  return storage === 'UFS' ? name : `${storage}:${name}`;
}

/** `*` is the only wildcard the simulator understands; it matches any run of characters. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${re}$`).test(name);
}

/** A pattern like `*`, `RAM:*`, `UFS:ca*`: storage and name pattern. */
function parsePattern(raw: string): { storage: ModemStorage; pattern: string } | null {
  const m = /^(UFS|RAM|NVRAM):(.*)$/i.exec(raw);
  const storage = (m ? m[1].toUpperCase() : 'UFS') as ModemStorage;
  const pattern = m ? m[2] : raw;
  return pattern.length === 0 ? null : { storage, pattern };
}

/** A storage the QF* commands can reach: UFS and RAM, never the 2G NVRAM slots. */
function fileRef(raw: string | undefined): FileRef | null {
  const ref = raw === undefined ? null : resolveFileName(raw);
  return ref && ref.storage !== 'NVRAM' ? ref : null;
}

/**
 * AT+QFLDS="UFS"|"RAM" → `+QFLDS: <free>,<total>`; bare AT+QFLDS → `+QFLDS: <used>,<count>`
 * for UFS (BG96 FILE manual).
 */
const qflds: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.queryMs);
  if (cmd.form === 'exec')
    return ok(`+QFLDS: ${ctx.store.used('UFS')},${ctx.store.list('UFS').length}`);
  if (cmd.form === 'test') return ok('+QFLDS: ("UFS","RAM")');
  const which = cmd.args[0]?.text.toUpperCase();
  if (cmd.form !== 'set' || cmd.args.length !== 1 || (which !== 'UFS' && which !== 'RAM'))
    return cme(FileError.invalidParameter);
  return ok(`+QFLDS: ${ctx.store.free(which)},${ctx.store.total(which)}`);
};

/** AT+QFLST[="<pattern>"] → one `+QFLST: "<name>",<size>` per match; RAM names keep their prefix. */
const qflst: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.queryMs);
  if (cmd.form === 'test') return ok();
  const p = parsePattern(cmd.form === 'exec' ? '*' : (cmd.args[0]?.text ?? ''));
  if (!p || p.storage === 'NVRAM' || (cmd.form !== 'exec' && cmd.form !== 'set'))
    return cme(FileError.invalidParameter);
  const lines = ctx.store
    .list(p.storage)
    .filter(([name]) => globMatch(p.pattern, name))
    .map(([name, data]) => `+QFLST: "${listName(p.storage, name)}",${data.length}`);
  return ok(...lines);
};

/** AT+QFDEL="<name>" (405 when missing); `"*"` / `"RAM:*"` empties the storage. */
const qfdel: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'set' || cmd.args.length !== 1) return cme(FileError.invalidParameter);
  await ctx.delay(ctx.latency.deleteMs);
  const raw = cmd.args[0].text;
  const p = parsePattern(raw);
  if (p && p.pattern === '*' && p.storage !== 'NVRAM') {
    ctx.store.clear(p.storage);
    return ok();
  }
  const ref = fileRef(raw);
  if (!ref) return cme(FileError.invalidName);
  for (const [h, f] of ctx.settings.handles)
    if (f.ref.storage === ref.storage && f.ref.name === ref.name) ctx.settings.handles.delete(h);
  return ctx.store.delete(ref) ? ok() : cme(FileError.notFound);
};

/** Receives, checks and stores one upload; shared by QFUPL and QSECWRITE. */
export async function receiveAndStore(
  ctx: CommandContext,
  ref: FileRef,
  size: number,
  timeoutS: number,
  ackEvery: number | null,
  answerPrefix: string,
): Promise<Reply> {
  await ctx.delay(ctx.latency.uploadSetupMs);
  ctx.send('\r\nCONNECT\r\n');
  const { data } = await ctx.receiveData(size, timeoutS * 1000, ackEvery);
  // A timeout is not an error (BG96 FILE manual): what arrived is kept and reported.
  // Nothing at all arriving is reported as 421, and no empty file is left behind.
  if (data.length === 0) return cme(FileError.timedOut);
  await ctx.delay(uploadCommitMs(ctx.latency, data.length));
  ctx.store.put(ref, data);
  return ok(`${answerPrefix}: ${data.length},${formatChecksum(quectelChecksum(data))}`);
}

/**
 * AT+QFUPL="<name>"[,<size>[,<timeout>[,<ackmode>]]] (defaults 10240 bytes, 5 s, 0).
 * Refusals before CONNECT: 406 bad name (NVRAM: included — only QSECWRITE writes there),
 * 407 name exists, 403 when the storage has no free byte at all, 420 when it has some but
 * fewer than `size`, 425 for out-of-range numbers.
 */
const qfupl: CommandHandler = async (cmd, ctx) => {
  if (cmd.form === 'test')
    return ok(`+QFUPL: <filename>,(1-${ctx.store.free('UFS')}),(1-65535),(0,1)`);
  if (cmd.form !== 'set' || cmd.args.length < 1 || cmd.args.length > 4)
    return cme(FileError.invalidParameter);
  const ref = fileRef(cmd.args[0].text);
  if (!ref) return cme(FileError.invalidName);
  const size = cmd.args.length > 1 ? intArg(cmd.args, 1) : 10240;
  const timeoutS = cmd.args.length > 2 ? intArg(cmd.args, 2) : 5;
  const ackmode = cmd.args.length > 3 ? intArg(cmd.args, 3) : 0;
  if (size === null || size < 1 || timeoutS === null || timeoutS < 1 || timeoutS > 65535)
    return cme(FileError.invalidParameter);
  if (ackmode !== 0 && ackmode !== 1) return cme(FileError.invalidParameter);
  if (ctx.store.get(ref)) return cme(FileError.exists);
  const free = ctx.store.free(ref.storage);
  if (free === 0) return cme(FileError.driveFull);
  if (size > free) return cme(FileError.noSpace);
  return receiveAndStore(ctx, ref, size, timeoutS, ackmode === 1 ? ackBlock : null, '+QFUPL');
};

/** AT+QFOPEN="<name>"[,<mode>]: 0 open or create, 1 create or truncate, 2 read-only existing. */
const qfopen: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'set' || cmd.args.length < 1 || cmd.args.length > 2)
    return cme(FileError.invalidParameter);
  await ctx.delay(ctx.latency.fileHandleMs);
  const ref = fileRef(cmd.args[0].text);
  if (!ref) return cme(FileError.invalidName);
  const mode = cmd.args.length > 1 ? intArg(cmd.args, 1) : 0;
  if (mode === null || mode > 2) return cme(FileError.invalidParameter);
  for (const f of ctx.settings.handles.values())
    if (f.ref.storage === ref.storage && f.ref.name === ref.name) return cme(FileError.alreadyOpen);
  if (ctx.settings.handles.size >= maxOpenFiles) return cme(FileError.tooManyOpen);
  const existing = ctx.store.get(ref);
  if (mode === 2 && !existing) return cme(FileError.notFound);
  if (mode === 1 || !existing) ctx.store.put(ref, new Uint8Array(0));
  const handle = ctx.settings.nextHandle++;
  ctx.settings.handles.set(handle, { ref, position: 0, readOnly: mode === 2 });
  return ok(`+QFOPEN: ${handle}`);
};

/**
 * AT+QFREAD=<handle>[,<length>] → `CONNECT <n>`, n raw bytes, OK. Hardened firmware
 * refuses to read file contents back over AT with 410 ("fail to open the file"), the same
 * code as AT+QFDWL, so an audit sees one consistent answer.
 */
const qfread: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'set' || cmd.args.length < 1 || cmd.args.length > 2)
    return cme(FileError.invalidParameter);
  await ctx.delay(ctx.latency.fileHandleMs);
  const handle = intArg(cmd.args, 0);
  const f = handle === null ? undefined : ctx.settings.handles.get(handle);
  if (!f) return cme(FileError.invalidDescriptor);
  if (ctx.config.personality === 'hardened') return cme(FileError.openFailed);
  const data = ctx.store.get(f.ref) ?? new Uint8Array(0);
  const want = cmd.args.length > 1 ? intArg(cmd.args, 1) : data.length - f.position;
  if (want === null) return cme(FileError.invalidParameter);
  const chunk = data.subarray(f.position, f.position + want);
  f.position += chunk.length;
  ctx.send(`\r\nCONNECT ${chunk.length}\r\n`);
  ctx.send(chunk);
  return ok();
};

/** AT+QFCLOSE=<handle>. */
const qfclose: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.fileHandleMs);
  const handle = cmd.form === 'set' ? intArg(cmd.args, 0) : null;
  if (handle === null || !ctx.settings.handles.delete(handle))
    return cme(FileError.invalidDescriptor);
  return ok();
};

/**
 * AT+QFDWL="<name>" → `CONNECT`, the bytes, `+QFDWL: <size>,<checksum>`, OK. Whether a
 * CR LF separates the data from `+QFDWL:` is UNCONFIRMED; the simulator frames the line
 * like any information line, so `\r\n` follows the data. Hardened: 410.
 */
const qfdwl: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'set' || cmd.args.length !== 1) return cme(FileError.invalidParameter);
  await ctx.delay(ctx.latency.fileHandleMs);
  const ref = fileRef(cmd.args[0].text);
  if (!ref) return cme(FileError.invalidName);
  const data = ctx.store.get(ref);
  if (!data) return cme(FileError.notFound);
  if (ctx.config.personality === 'hardened') return cme(FileError.openFailed);
  ctx.send('\r\nCONNECT\r\n');
  ctx.send(data);
  return ok(`+QFDWL: ${data.length},${formatChecksum(quectelChecksum(data))}`);
};

export const fileCommands: ReadonlyMap<string, CommandHandler> = new Map([
  ['+QFLDS', qflds],
  ['+QFLST', qflst],
  ['+QFDEL', qfdel],
  ['+QFUPL', qfupl],
  ['+QFOPEN', qfopen],
  ['+QFREAD', qfread],
  ['+QFCLOSE', qfclose],
  ['+QFDWL', qfdwl],
]);
