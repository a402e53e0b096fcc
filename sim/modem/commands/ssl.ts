import type { AtArg } from '../at-line.ts';
import type { CommandHandler } from '../context.ts';
import type { ModelTraits } from '../models.ts';
import { error, ok } from '../reply.ts';
import type { SslSetting } from '../state-file.ts';

interface ItemRule {
  /** Accepts the value text (quotes already removed). */
  valid: (v: string) => boolean;
  /** Default reported by the query form before the station sets it. */
  default: SslSetting;
}

const range = (lo: number, hi: number) => (v: string) =>
  /^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi;

/** Items of AT+QSSLCFG the simulator models (protocols-reference A.7). */
const items: Readonly<Record<string, ItemRule>> = {
  sslversion: { valid: range(0, 4), default: { value: '4', quoted: false } },
  ciphersuite: {
    valid: (v) => /^0[xX][0-9a-fA-F]{4}$/.test(v),
    default: { value: '0XFFFF', quoted: false },
  },
  seclevel: { valid: range(0, 2), default: { value: '0', quoted: false } },
  cacert: { valid: (v) => v.length <= 80, default: { value: '', quoted: true } },
  clientcert: { valid: (v) => v.length <= 80, default: { value: '', quoted: true } },
  clientkey: { valid: (v) => v.length <= 80, default: { value: '', quoted: true } },
  ignorelocaltime: { valid: range(0, 1), default: { value: '0', quoted: false } },
  ignorertctime: { valid: range(0, 1), default: { value: '0', quoted: false } },
  negotiatetime: { valid: range(10, 300), default: { value: '300', quoted: false } },
  sni: { valid: range(0, 1), default: { value: '0', quoted: false } },
};

const fileItems = new Set(['cacert', 'clientcert', 'clientkey']);

/** Items this family accepts; the time-check keyword differs (and 2G's has no context). */
function itemExists(traits: ModelTraits, item: string): boolean {
  if (!Object.hasOwn(items, item)) return false;
  if (item === 'ignorelocaltime' || item === 'ignorertctime')
    return item === traits.ignoreTimeKeyword;
  return true;
}

/** The 2G `ignorertctime` is module-wide: no context index. */
function isGlobal(item: string): boolean {
  return item === 'ignorertctime';
}

function parseCtx(a: AtArg | undefined): number | null {
  if (!a || a.quoted || !/^[0-5]$/.test(a.text)) return null;
  return Number(a.text);
}

function render(s: SslSetting): string {
  return s.quoted ? `"${s.value}"` : s.value;
}

/**
 * AT+QSSLCFG="<item>",<ctx>[,<value>] — set, or query without the value. Keywords are
 * lower-case only (TinyGSM notes real firmware rejects capitals); a file path must be
 * quoted, numbers bare, the cipher suite either. Values are stored as written and the query
 * answers them the same way: `+QSSLCFG: "<item>",<ctx>,<value>`.
 */
const qsslcfg: CommandHandler = async (cmd, ctx) => {
  if (cmd.form === 'test') {
    await ctx.delay(ctx.latency.queryMs);
    return ok();
  }
  if (cmd.form !== 'set' || !cmd.args[0]?.quoted) return error();
  const item = cmd.args[0].text;
  if (!itemExists(ctx.traits, item)) return error();
  const global = isGlobal(item);
  const c = global ? null : parseCtx(cmd.args[1]);
  if (!global && c === null) return error();
  const valueArg = cmd.args[global ? 1 : 2];
  const expected = global ? 2 : 3;
  if (cmd.args.length > expected) return error();
  if (!valueArg) {
    await ctx.delay(ctx.latency.queryMs);
    const s = ctx.store.sslSetting(c, item) ?? items[item].default;
    return ok(`+QSSLCFG: "${item}",${global ? '' : `${c},`}${render(s)}`);
  }
  const isFile = fileItems.has(item);
  if (isFile !== valueArg.quoted && item !== 'ciphersuite') return error();
  if (!items[item].valid(valueArg.text)) return error();
  await ctx.delay(ctx.latency.sslConfigSetMs);
  ctx.store.setSsl(c, item, { value: valueArg.text, quoted: valueArg.quoted });
  return ok();
};

/** Effective settings of one context (defaults included), plus the module-wide ones. */
export function effectiveSsl(
  traits: ModelTraits,
  get: (ctx: number | null, item: string) => SslSetting | undefined,
  c: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of Object.keys(items)) {
    if (!itemExists(traits, item)) continue;
    out[item] = (get(isGlobal(item) ? null : c, item) ?? items[item].default).value;
  }
  return out;
}

export const sslCommands: ReadonlyMap<string, CommandHandler> = new Map([['+QSSLCFG', qsslcfg]]);
