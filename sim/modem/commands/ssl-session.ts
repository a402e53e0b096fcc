import { connect, type TLSSocket } from 'node:tls';
import { intArg } from '../at-line.ts';
import type { CommandContext, CommandHandler, SessionSettings } from '../context.ts';
import { cme, error, frameUrc, ok, silent } from '../reply.ts';
import { resolveFileName } from '../store.ts';
import { effectiveSsl } from './ssl.ts';

/**
 * TLS sessions of the LTE/LPWA syntax (protocols.md "Session use"): AT+QSSLOPEN,
 * AT+QSSLSEND, AT+QSSLRECV, AT+QSSLCLOSE, in buffer access mode (0). The connection is a
 * real node:tls client built only from the files the context's `cacert`, `clientcert` and
 * `clientkey` point at in the module's own storage, so the identity presented is exactly
 * what the station wrote. 2G modules use another syntax, not modelled: they answer ERROR.
 */

/** TCP/IP and SSL error codes (protocols-reference A.8) the simulator reports. */
const SslError = {
  invalidParameters: 552,
  notSupported: 555,
  identityUsed: 563,
  connectFailed: 566,
  closed: 567,
  timeout: 569,
} as const;

/** Largest QSSLSEND / QSSLRECV chunk (the usual Quectel limits). */
const maxSend = 1460;
const maxRecv = 1500;
/** How long the data phase of QSSLSEND waits for the next byte. */
const sendIdleMs = 5000;
/** Received bytes kept per connection before the module stops reading from the server. */
const rxLimit = 64 * 1024;

interface Connection {
  socket: TLSSocket;
  state: 'opening' | 'open' | 'closed';
  rx: Buffer[];
  rxBytes: number;
}

/** Connections per power-on period; a WeakMap so a new session starts with none. */
const connectionsBySession = new WeakMap<SessionSettings, Map<number, Connection>>();

function connectionsOf(ctx: CommandContext): Map<number, Connection> {
  let m = connectionsBySession.get(ctx.settings);
  if (!m) {
    const conns = new Map<number, Connection>();
    m = conns;
    connectionsBySession.set(ctx.settings, conns);
    // Power loss or stop drops every socket the module had open.
    ctx.sessionSignal.addEventListener(
      'abort',
      () => {
        for (const c of conns.values()) c.socket.destroy();
        conns.clear();
      },
      { once: true },
    );
  }
  return m;
}

function urc(ctx: CommandContext, line: string): void {
  if (!ctx.sessionSignal.aborted) ctx.send(frameUrc(line));
}

/** Bytes of a file a context item points at, or undefined when unset or missing. */
function fileOf(ctx: CommandContext, name: string): Buffer | undefined {
  if (name === '') return undefined;
  const ref = resolveFileName(name);
  const data = ref && ctx.store.get(ref);
  return data ? Buffer.from(data) : undefined;
}

function isLte(ctx: CommandContext): boolean {
  return ctx.traits.family !== '2g';
}

/** AT+QSSLOPEN=<pdp>,<ctx>,<conn>,"<host>",<port>[,<mode>] → OK, later +QSSLOPEN: <conn>,<err>. */
const qsslopen: CommandHandler = async (cmd, ctx) => {
  if (!isLte(ctx)) return error();
  if (cmd.form === 'test') return ok();
  if (cmd.form !== 'set' || cmd.args.length < 5 || cmd.args.length > 6)
    return cme(SslError.invalidParameters);
  const pdp = intArg(cmd.args, 0);
  const sslCtx = intArg(cmd.args, 1);
  const conn = intArg(cmd.args, 2);
  const hostArg = cmd.args[3];
  const port = intArg(cmd.args, 4);
  const mode = cmd.args.length > 5 ? intArg(cmd.args, 5) : 0;
  if (
    pdp === null ||
    pdp < 1 ||
    pdp > 16 ||
    sslCtx === null ||
    sslCtx > 5 ||
    conn === null ||
    conn > 11 ||
    !hostArg.quoted ||
    hostArg.text === '' ||
    port === null ||
    port < 1 ||
    port > 65535
  )
    return cme(SslError.invalidParameters);
  if (mode !== 0) return cme(SslError.notSupported); // only buffer access mode is modelled
  const conns = connectionsOf(ctx);
  if (conns.has(conn)) return cme(SslError.identityUsed);
  await ctx.delay(ctx.latency.simpleMs);

  const cfg = effectiveSsl(ctx.traits, (c, item) => ctx.store.sslSetting(c, item), sslCtx);
  const seclevel = Number(cfg.seclevel);
  const ca = fileOf(ctx, cfg.cacert);
  const cert = fileOf(ctx, cfg.clientcert);
  const key = fileOf(ctx, cfg.clientkey);
  const negotiateMs = Number(cfg.negotiatetime) * 1000;
  // A context that demands verification without its files fails at open, like a module
  // whose file is missing; the URC says so after OK.
  const missing = (seclevel >= 1 && !ca) || (seclevel === 2 && (!cert || !key));
  if (missing) {
    setImmediate(() => urc(ctx, `+QSSLOPEN: ${conn},${SslError.connectFailed}`));
    return ok();
  }
  const socket = connect({
    host: hostArg.text,
    port,
    ca: seclevel >= 1 ? ca : undefined,
    cert: seclevel === 2 ? cert : undefined,
    key: seclevel === 2 ? key : undefined,
    rejectUnauthorized: seclevel >= 1,
    minVersion: cfg.sslversion === '3' ? 'TLSv1.2' : undefined,
    maxVersion: cfg.sslversion === '3' ? 'TLSv1.2' : undefined,
  });
  key?.fill(0); // node:tls has its own copy now
  const c: Connection = { socket, state: 'opening', rx: [], rxBytes: 0 };
  conns.set(conn, c);
  socket.setTimeout(negotiateMs);
  socket.once('timeout', () => {
    if (c.state === 'opening') socket.destroy(new Error('negotiation timeout'));
  });
  socket.once('secureConnect', () => {
    socket.setTimeout(0);
    c.state = 'open';
    // The answer OK is already queued: open happens after I/O, which comes after it.
    urc(ctx, `+QSSLOPEN: ${conn},0`);
  });
  socket.on('data', (d: Buffer) => {
    const announce = c.rxBytes === 0;
    c.rx.push(d);
    c.rxBytes += d.length;
    if (c.rxBytes > rxLimit) socket.pause();
    if (announce) urc(ctx, `+QSSLURC: "recv",${conn}`);
  });
  socket.on('error', () => {
    // Reported through the URCs below; the message itself may quote the peer.
  });
  socket.once('close', () => {
    const was = c.state;
    c.state = 'closed';
    if (was === 'opening') {
      conns.delete(conn);
      urc(ctx, `+QSSLOPEN: ${conn},${SslError.connectFailed}`);
    } else if (conns.get(conn) === c) urc(ctx, `+QSSLURC: "closed",${conn}`);
  });
  return ok();
};

/** AT+QSSLSEND=<conn>,<len> → `>`, exactly <len> raw bytes, `SEND OK` (or `SEND FAIL`). */
const qsslsend: CommandHandler = async (cmd, ctx) => {
  if (!isLte(ctx)) return error();
  if (cmd.form === 'test') return ok(`+QSSLSEND: (0-11),(1-${maxSend})`);
  if (cmd.form !== 'set' || cmd.args.length !== 2) return cme(SslError.invalidParameters);
  const conn = intArg(cmd.args, 0);
  const len = intArg(cmd.args, 1);
  if (conn === null || len === null || len < 1 || len > maxSend)
    return cme(SslError.invalidParameters);
  const c = connectionsOf(ctx).get(conn);
  if (!c || c.state !== 'open') return error();
  await ctx.delay(ctx.latency.simpleMs);
  ctx.send('\r\n> ');
  const { data, ending } = await ctx.receiveData(len, sendIdleMs, null);
  if (ending !== 'complete' || c.state !== 'open') {
    ctx.send('\r\nSEND FAIL\r\n');
    return silent();
  }
  c.socket.write(Buffer.from(data));
  ctx.send('\r\nSEND OK\r\n');
  return silent();
};

/** AT+QSSLRECV=<conn>[,<max>] → `+QSSLRECV: <n>`, n raw bytes, OK (n = 0 when nothing is buffered). */
const qsslrecv: CommandHandler = async (cmd, ctx) => {
  if (!isLte(ctx)) return error();
  if (cmd.form === 'test') return ok(`+QSSLRECV: (0-11),(1-${maxRecv})`);
  if (cmd.form !== 'set' || cmd.args.length < 1 || cmd.args.length > 2)
    return cme(SslError.invalidParameters);
  const conn = intArg(cmd.args, 0);
  const max = cmd.args.length > 1 ? intArg(cmd.args, 1) : maxRecv;
  if (conn === null || max === null || max < 1 || max > maxRecv)
    return cme(SslError.invalidParameters);
  const c = connectionsOf(ctx).get(conn);
  if (!c) return error();
  await ctx.delay(ctx.latency.simpleMs);
  const all = Buffer.concat(c.rx);
  const out = all.subarray(0, max);
  const rest = all.subarray(out.length);
  c.rx = rest.length > 0 ? [rest] : [];
  c.rxBytes = rest.length;
  if (c.rxBytes <= rxLimit && c.state === 'open') c.socket.resume();
  // Header, data and the final OK go out in one piece so no URC lands inside the data.
  ctx.send(`\r\n+QSSLRECV: ${out.length}\r\n`);
  ctx.send(out);
  return ok();
};

/** AT+QSSLCLOSE=<conn>[,<timeout>] → OK; the socket is closed at once. */
const qsslclose: CommandHandler = async (cmd, ctx) => {
  if (!isLte(ctx)) return error();
  if (cmd.form === 'test') return ok();
  if (cmd.form !== 'set' || cmd.args.length < 1 || cmd.args.length > 2)
    return cme(SslError.invalidParameters);
  const conn = intArg(cmd.args, 0);
  if (conn === null || conn > 11) return cme(SslError.invalidParameters);
  const conns = connectionsOf(ctx);
  const c = conns.get(conn);
  await ctx.delay(ctx.latency.simpleMs);
  if (c) {
    conns.delete(conn);
    c.socket.destroy();
  }
  return ok();
};

export const sslSessionCommands: ReadonlyMap<string, CommandHandler> = new Map([
  ['+QSSLOPEN', qsslopen],
  ['+QSSLSEND', qsslsend],
  ['+QSSLRECV', qsslrecv],
  ['+QSSLCLOSE', qsslclose],
]);
