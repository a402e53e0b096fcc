import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags, UsageError, parseArgs } from '../args.ts';
import type { CliIO } from '../io.ts';
import { exportLedger } from '../../ledger/export.ts';
import type { SlotIdentity } from '../../pipeline/events.ts';
import { openProvisioningLine } from '../../pipeline/line.ts';
import { createProgressView, viewModeFor } from '../../pipeline/progress-view.ts';
import { unlockStation } from '../../pipeline/station.ts';
import { createStation } from '../../station/index.ts';
import { readExport } from '../../../server/export-reader.ts';
import { startFixture } from '../../../sim/index.ts';

/** The demo station's passphrase: printed on screen, because this CA is for trying keyline only. */
export const DEMO_PASSPHRASE = 'keyline-demo-passphrase';

const DEMO_PROFILE = fileURLToPath(new URL('../../../profiles/demo.json', import.meta.url));

const HELP = `usage: keyline demo [--slots N] [--keep DIR] [--faults SPEC] [--json]

Creates a station with a development CA in a temporary directory, starts a virtual
fixture of N simulated boards (default 4), provisions them, exports and verifies the
ledger, prints a summary and cleans up (--keep DIR keeps everything in DIR).
`;

interface BoardRow {
  slot: string;
  deviceId: string;
  imei: string;
  iccid: string;
  mcuUid: string;
  result: 'PASS' | 'FAIL';
  seconds: number;
  failure?: { step: string; reason: string; deviceAnswered?: string };
}

/** `keyline demo`: station + virtual fixture + one batch, end to end, nothing to configure. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const f = new Flags(parseArgs(argv));
  if (f.bool('help')) {
    io.stdout.write(HELP);
    return 0;
  }
  const slots = f.int('slots', 4, 1, 32);
  const keep = f.string('keep');
  const faults = f.string('faults');
  const json = f.bool('json');
  f.rejectUnknown();

  const started = Date.now();
  const say = (s: string) => {
    if (!json) io.stdout.write(s + '\n');
  };
  let root: string;
  if (keep !== undefined) {
    root = resolve(keep);
    if (existsSync(root) && readdirSync(root).length > 0)
      throw new UsageError(`--keep ${keep}: directory exists and is not empty`);
    await mkdir(root, { recursive: true });
  } else {
    root = await mkdtemp(join(tmpdir(), 'keyline-demo-'));
  }
  const stationDir = join(root, 'station');
  const exportDir = join(root, 'export');

  say(`keyline demo: ${slots} simulated board(s), working in ${root}`);
  say(
    `Development CA, demo passphrase "${DEMO_PASSPHRASE}" (a demo station only: never use it for real devices).`,
  );
  let fixture: Awaited<ReturnType<typeof startFixture>> | undefined;
  let station: Awaited<ReturnType<typeof unlockStation>> | undefined;
  try {
    await createStation(stationDir, DEMO_PASSPHRASE, {
      organization: 'keyline demo',
      // A published passphrase gains nothing from a slow KDF; keep the demo quick.
      kdfIterations: 10_000,
    });
    fixture = await startFixture({
      slots,
      dir: join(root, 'fixture'),
      modemModel: 'EC25',
      mcuFamily: 'F4',
      ...(faults !== undefined ? { faults } : {}),
    });
    station = await unlockStation(stationDir, DEMO_PASSPHRASE);
    say(`station ${station.stationId} ready; fixture up; provisioning...`);

    const view = createProgressView(viewModeFor(json, io.stdout), io.stdout);
    const line = await openProvisioningLine({
      station,
      profile: DEMO_PROFILE,
      operator: 'demo',
      batch: 'demo-1',
      onEvent: (e) => view.onEvent(e),
    });
    let result;
    try {
      result = await line.runner.run(
        fixture.slots.map((s) => ({
          slot: String(s.slot),
          modemPort: s.modemPort,
          mcuPort: s.mcuPort,
        })),
        io.signal,
      );
      view.finish();
      await exportLedger(line.ledger, {
        outDir: exportDir,
        issuer: station.issuer,
        caChainDer: station.caChainDer,
      });
    } finally {
      view.finish();
      await line.close();
    }

    let verify: { ok: boolean; detail: string };
    try {
      const v = readExport(exportDir);
      verify = {
        ok: true,
        detail: `${v.checkpoint.checkpoint.treeSize} records, checkpoint signed by ${v.stationId}, ${v.counts.commit} commit(s), CRL revoking ${v.crl.serialsHex.length} serial(s)`,
      };
    } catch (e) {
      verify = { ok: false, detail: (e as Error).message };
    }

    const identities = new Map<string, SlotIdentity>();
    for (const p of result.passed) identities.set(p.slot, p.identity);
    const rows: BoardRow[] = fixture.slots.map((s) => {
      const slot = String(s.slot);
      const pass = result.passed.find((p) => p.slot === slot);
      const fail = result.failed.find((x) => x.slot === slot);
      return {
        slot,
        deviceId: pass?.identity.deviceId ?? '-',
        imei: s.imei,
        iccid: s.iccid,
        mcuUid: s.mcuUid,
        result: pass ? 'PASS' : 'FAIL',
        seconds: Math.round((pass?.elapsedMs ?? 0) / 100) / 10,
        ...(fail
          ? {
              failure: {
                step: fail.step,
                reason: fail.reason,
                ...(fail.deviceAnswered ? { deviceAnswered: fail.deviceAnswered } : {}),
              },
            }
          : {}),
      };
    });
    const ok = result.failed.length === 0 && verify.ok;
    const elapsedMs = Date.now() - started;
    if (json) {
      io.stdout.write(
        JSON.stringify({
          type: 'summary',
          ok,
          boards: rows,
          ledgerVerify: verify,
          kept: keep !== undefined ? root : null,
          elapsedMs,
        }) + '\n',
      );
    } else {
      io.stdout.write('\n' + summaryTable(rows) + '\n');
      io.stdout.write(`ledger export ${verify.ok ? 'VERIFIED' : 'FAILED'}: ${verify.detail}\n`);
      io.stdout.write(
        `${ok ? 'PASS' : 'FAIL'}: ${result.passed.length}/${rows.length} boards provisioned in ${(elapsedMs / 1000).toFixed(1)} s` +
          (keep !== undefined ? `; station, fixture and export kept in ${root}` : '') +
          '\n',
      );
    }
    return ok ? 0 : 1;
  } finally {
    station?.close();
    await fixture?.stop();
    if (keep === undefined) await rm(root, { recursive: true, force: true });
  }
}

/** The per-board table printed at the end of the demo. */
export function summaryTable(rows: readonly BoardRow[]): string {
  const head = ['slot', 'device ID', 'IMEI', 'ICCID', 'MCU UID', 'result', 'time'];
  const body = rows.map((r) => [
    r.slot,
    r.deviceId,
    r.imei,
    r.iccid,
    r.mcuUid,
    r.failure ? `FAIL at ${r.failure.step}` : r.result,
    r.result === 'PASS' ? `${r.seconds.toFixed(1)} s` : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)];
  for (const r of rows)
    if (r.failure)
      lines.push(
        `slot ${r.slot}: ${r.failure.reason}${r.failure.deviceAnswered ? ` [device: ${r.failure.deviceAnswered}]` : ''}`,
      );
  return lines.join('\n');
}
