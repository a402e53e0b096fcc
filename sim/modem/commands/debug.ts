import type { CommandContext, CommandHandler } from '../context.ts';
import { seededRandom } from '../faults.ts';
import { error, ok } from '../reply.ts';

function exposed(ctx: CommandContext): boolean {
  return ctx.traits.debugCommands && ctx.config.personality === 'exposed';
}

/** A stable 8-digit salt per module: same seed and IMEI, same salt. */
export function adbSalt(seed: number, imei: string): number {
  let h = seed >>> 0;
  for (const ch of imei) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return 10_000_000 + Math.floor(seededRandom(h)() * 90_000_000);
}

/** AT+QADBKEY? → `+QADBKEY: <decimal salt>` on exposed LTE firmware; ERROR when hardened. */
const qadbkey: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'read' || !exposed(ctx)) return error();
  await ctx.delay(ctx.latency.simpleMs);
  return ok(`+QADBKEY: ${adbSalt(ctx.config.seed, ctx.config.imei)}`);
};

/**
 * AT+QCFG="usbcfg" (query only) → `+QCFG: "usbcfg",<vid>,<pid>,1,1,1,1,1,<adb>,0` with adb
 * 1 on exposed firmware. Other QCFG items and the set form (never sent by keyline) are ERROR.
 */
const qcfg: CommandHandler = async (cmd, ctx) => {
  if (!ctx.traits.debugCommands || cmd.form !== 'set' || cmd.args.length !== 1) return error();
  if (!cmd.args[0].quoted || cmd.args[0].text.toLowerCase() !== 'usbcfg') return error();
  await ctx.delay(ctx.latency.simpleMs);
  const [vid, pid] = ctx.traits.usbIds;
  const adb = ctx.config.personality === 'exposed' ? 1 : 0;
  return ok(`+QCFG: "usbcfg",${vid},${pid},1,1,1,1,1,${adb},0`);
};

/**
 * AT+QLINUXCMD: removed from current firmware (hardened: ERROR to every form). Exposed
 * firmware answers the test form with `+QLINUXCMD: <command line>` and accepts a command.
 */
const qlinuxcmd: CommandHandler = async (cmd, ctx) => {
  if (!exposed(ctx)) return error();
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'test') return ok('+QLINUXCMD: <command line>');
  if (cmd.form === 'set' && cmd.args.length === 1 && cmd.args[0].quoted) return ok();
  return error();
};

export const debugCommands: ReadonlyMap<string, CommandHandler> = new Map([
  ['+QADBKEY', qadbkey],
  ['+QCFG', qcfg],
  ['+QLINUXCMD', qlinuxcmd],
]);
