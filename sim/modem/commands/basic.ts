import { intArg } from '../at-line.ts';
import type { CommandHandler } from '../context.ts';
import { cme, error, ok } from '../reply.ts';

/** Bare `AT`: alive check. */
const at: CommandHandler = async (_cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  return ok();
};

/** ATE0 / ATE1 (ATE alone means ATE0, as in V.250). */
const echo: CommandHandler = async (cmd, ctx) => {
  const v = cmd.args[0]?.text ?? '0';
  if (cmd.form !== 'exec' || (v !== '0' && v !== '1')) return error();
  await ctx.delay(ctx.latency.simpleMs);
  ctx.settings.echo = v === '1';
  return ok();
};

/** AT+CMEE=<0|1|2>, AT+CMEE?, AT+CMEE=?. */
const cmee: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'read') return ok(`+CMEE: ${ctx.settings.cmee}`);
  if (cmd.form === 'test') return ok('+CMEE: (0-2)');
  const n = cmd.form === 'set' ? intArg(cmd.args, 0) : null;
  if (n === null || n > 2 || cmd.args.length !== 1) return cme(50);
  ctx.settings.cmee = n;
  return ok();
};

/** ATI: manufacturer, model, revision (2G spells them Quectel_Ltd / Quectel_M66). */
const ati: CommandHandler = async (cmd, ctx) => {
  if (cmd.form !== 'exec' || (cmd.args[0] && cmd.args[0].text !== '0')) return error();
  await ctx.delay(ctx.latency.simpleMs);
  return ok(...ctx.traits.atiLines, `Revision: ${ctx.config.firmware}`);
};

/** AT+GSN and AT+CGSN: the IMEI alone on a line. */
const imei: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'test') return ok();
  if (cmd.form !== 'exec') return error();
  return ok(ctx.config.imei);
};

/** AT+QCCID: `+QCCID: <iccid>` on LTE/LPWA, the bare ICCID on 2G. */
const qccid: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'test') return ok();
  if (cmd.form !== 'exec') return error();
  return ok(ctx.traits.qccidPrefixed ? `+QCCID: ${ctx.config.iccid}` : ctx.config.iccid);
};

/** AT+CIMI: the IMSI alone on a line (the simulated SIM is always present). */
const cimi: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'test') return ok();
  if (cmd.form !== 'exec') return error();
  return ok(ctx.config.imsi);
};

/**
 * AT+QGMR: the full version. The sub-version suffix is UNCONFIRMED (protocols-reference
 * A.2 expects `<revision>_xx.xxx.xx.xxx` on LTE); the simulator answers `<revision>_01.001.01.001`
 * on LTE/LPWA and the bare revision on 2G.
 */
const qgmr: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form !== 'exec') return error();
  const fw = ctx.config.firmware;
  return ok(ctx.traits.family === '2g' ? fw : `${fw}_01.001.01.001`);
};

/**
 * AT+IPR: the simulator cannot change the PTY's speed, so it accepts only the rate it runs
 * at (a real module would switch); the query answers that rate.
 */
const ipr: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'read') return ok(`+IPR: ${ctx.config.baud}`);
  if (cmd.form === 'set' && intArg(cmd.args, 0) === ctx.config.baud) return ok();
  return cme(4);
};

/** AT+IFC=<dce_by_dte>,<dte_by_dce> (0 none, 2 RTS/CTS): stored and reported; a PTY has no lines to honour it. */
const ifc: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  if (cmd.form === 'read') return ok(`+IFC: ${ctx.settings.ifc.join(',')}`);
  const a = intArg(cmd.args, 0);
  const b = intArg(cmd.args, 1);
  if (cmd.form !== 'set' || cmd.args.length !== 2 || (a !== 0 && a !== 2) || (b !== 0 && b !== 2))
    return cme(50);
  ctx.settings.ifc = [a, b];
  return ok();
};

/** Commands accepted without effect on the model (profile save/restore, result format). */
const accepted: CommandHandler = async (cmd, ctx) => {
  await ctx.delay(ctx.latency.simpleMs);
  return cmd.form === 'exec' ? ok() : error();
};

/** AT+CPIN? and AT+CFUN?: the simulated SIM is always ready and the module fully on. */
const readOnly =
  (answer: string): CommandHandler =>
  async (cmd, ctx) => {
    await ctx.delay(ctx.latency.simpleMs);
    return cmd.form === 'read' ? ok(answer) : error();
  };

export const basicCommands: ReadonlyMap<string, CommandHandler> = new Map([
  ['', at],
  ['E', echo],
  ['+CMEE', cmee],
  ['I', ati],
  ['+GSN', imei],
  ['+CGSN', imei],
  ['+QCCID', qccid],
  ['+QGMR', qgmr],
  ['+CIMI', cimi],
  ['+IPR', ipr],
  ['+IFC', ifc],
  ['Z', accepted],
  ['&W', accepted],
  ['V', accepted],
  ['+CPIN', readOnly('+CPIN: READY')],
  ['+CFUN', readOnly('+CFUN: 1')],
]);
