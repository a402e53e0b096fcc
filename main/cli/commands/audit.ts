/**
 * `keyline audit --modem PORT [--baud B] [--json] [--key-file NAME] [--ca-file NAME]
 * [--cert-file NAME] [--tls-context N] [--firmware-allow P]... [--firmware-deny P]...
 * [--timeout-ms MS]` — the read-only audit of a module's attack surface (docs/audit.md).
 *
 * Sends nothing but the audit's read-only commands: no ATE0 or CMEE set-up (the engine
 * drops echo itself), the family comes from ATI sent through the same gate. File names
 * default to the ones the modem driver writes for the family and context; the context to
 * the product profile's default (1). Exit 0: no findings; 3: findings (printed); 1: the
 * audit could not run; 2: usage.
 */
import {
  auditModem,
  ReadOnlyCommandGate,
  type AuditReport,
  type Finding,
} from '../../audit/index.ts';
import { AtEngine, parseAti, type ModemFamily } from '../../modem/index.ts';
import { NvramStore } from '../../modem/nvram-store.ts';
import { UfsStore } from '../../modem/ufs-store.ts';
import { SerialTransport } from '../../transport/serial-transport.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

/** Exit status when the audit ran and found something. */
export const EXIT_FINDINGS = 3;

/** Not used for uploads here; the stores only supply their default file names. */
const unusedTimeouts = { connectMs: 5000, uploadIdleS: 5, uploadResultMs: 15_000 };

function defaultNames(family: ModemFamily, ctx: number) {
  return (
    family === '2g' ? new NvramStore(unusedTimeouts) : new UfsStore(unusedTimeouts)
  ).defaultNames(ctx);
}

/**
 * ATI through the read-only gate, to learn which family's files to look for. An answer
 * that names no supported module fails with the driver's ModemUnsupportedError.
 */
async function readFamily(
  engine: AtEngine,
  port: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ModemFamily> {
  const gate = new ReadOnlyCommandGate(engine, { port }, { timeoutMs, signal });
  const ati = await gate.command('ATI');
  return parseAti(ati.lines, { port, step: 'audit' }).family;
}

/** `FINDING (high): detail` / `INCONCLUSIVE (high): detail` for the human output. */
function describeFinding(outcome: string, f: Finding): string {
  return `${outcome.toUpperCase()} (${f.severity}): ${f.detail.replace(/^inconclusive: /, '')}`;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv));
  if (flags.positionals.length)
    throw new UsageError(`unexpected argument "${flags.positionals[0]}"`);
  const json = flags.bool('json');
  const port = flags.required('modem');
  const baudRate = flags.int('baud', 115_200, 1200, 4_000_000);
  const tlsContext = flags.int('tls-context', 1, 0, 5);
  const timeoutMs = flags.int('timeout-ms', 5000, 100, 600_000);
  const keyFile = flags.string('key-file');
  const caFile = flags.string('ca-file');
  const certFile = flags.string('cert-file');
  const firmwareAllow = flags.all('firmware-allow');
  const firmwareDeny = flags.all('firmware-deny');
  flags.rejectUnknown();

  const transport = await SerialTransport.open({ path: port, baudRate, parity: 'none' });
  // The engine owns the transport from here and closes it in close().
  const engine = new AtEngine(transport, { defaultTimeoutMs: timeoutMs });
  let report: AuditReport;
  try {
    const family = await readFamily(engine, port, timeoutMs, io.signal);
    const names = defaultNames(family, tlsContext);
    report = await auditModem(
      engine,
      {
        family,
        keyFileName: keyFile ?? names.clientkey,
        tlsContext,
        caFile: caFile ?? names.cacert,
        certFile: certFile ?? names.clientcert,
        keyFile: keyFile ?? names.clientkey,
        firmwareAllow,
        firmwareDeny,
      },
      { signal: io.signal, timeoutMs },
    );
  } finally {
    await engine.close();
  }

  if (json) {
    printJson(io, {
      findings: report.findings,
      port,
      ...(report.module ? { module: report.module } : {}),
      probes: report.probes,
    });
  } else {
    const m = report.module;
    const out = [`audit ${port}${m ? `: Quectel ${m.model}, firmware ${m.firmware}` : ''}`];
    for (const p of report.probes) {
      const f = report.findings.find((x) => x.id === p.id);
      out.push(`  ${p.id.padEnd(17)} ${f ? describeFinding(p.outcome, f) : 'clean'}`);
    }
    out.push(report.findings.length === 0 ? 'no findings' : `${report.findings.length} finding(s)`);
    io.stdout.write(out.join('\n') + '\n');
  }
  return report.findings.length === 0 ? 0 : EXIT_FINDINGS;
}
