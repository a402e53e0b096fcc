/**
 * `keyline ledger export --station DIR --out DIR [--since CHECKPOINT] [--json]` — writes an
 * offline export of the station's ledger (needs the station passphrase for the CRL:
 * KEYLINE_PASSPHRASE or a prompt). CHECKPOINT is the previous export (directory or its
 * checkpoint.json): the new export then holds only the records after it, with a proof.
 * `keyline ledger verify PATH [--no-chains] [--json]` — checks an export; exits 1 naming
 * the first bad file or record.
 */
import { resolve } from 'node:path';
import { pemDecodeAll } from '../../../certs/index.ts';
import { ExportVerificationError } from '../../../ledger/export-verifier.ts';
import { readExport } from '../../../server/export-reader.ts';
import { LedgerWriter, exportLedger, ledgerDirOf, readCheckpointFile } from '../../ledger/index.ts';
import { openStation } from '../../station/index.ts';
import { readUnlockSecret } from '../../hsm/unlock-secret.ts';
import { Flags, parseArgs, UsageError } from '../args.ts';
import { printJson, type CliIO } from '../io.ts';

async function runExport(flags: Flags, io: CliIO, json: boolean): Promise<number> {
  const stationDir = resolve(flags.required('station'));
  const outDir = resolve(flags.required('out'));
  const sincePath = flags.string('since');
  flags.rejectUnknown();
  const since = sincePath ? readCheckpointFile(resolve(sincePath)) : undefined;
  const passphrase = await readUnlockSecret(io, stationDir);
  const station = await openStation(stationDir, passphrase);
  try {
    const caChainDer = pemDecodeAll(station.issuer.chainPem).map((b) => b.der);
    const writer = await LedgerWriter.open(ledgerDirOf(stationDir), {
      signer: station.ledgerSigner,
      stationId: station.stationId,
      caChainDer,
    });
    try {
      if (writer.openReport.cutTail)
        io.stderr.write(
          `keyline: ledger: cut ${writer.openReport.cutTail.bytes} bytes of a torn last write ` +
            `from ${writer.openReport.cutTail.file} (${writer.openReport.cutTail.reason})\n`,
        );
      const s = await exportLedger(writer, {
        outDir,
        since,
        issuer: { certificateDer: station.issuer.certificateDer, signer: station.issuer.signer },
        caChainDer,
      });
      const result = {
        ok: true,
        dir: s.dir,
        firstIndex: s.firstIndex,
        treeSize: s.treeSize,
        rootHash: s.checkpoint.checkpoint.rootHashHex,
        revokedSerials: s.revokedSerials,
      };
      if (json) printJson(io, result);
      else
        io.stdout.write(
          `exported records ${s.firstIndex}..${s.treeSize - 1} to ${s.dir}\n` +
            `root ${result.rootHash}, ${s.revokedSerials} serials on the CRL\n`,
        );
      return 0;
    } finally {
      await writer.close();
    }
  } finally {
    station.close();
  }
}

function runVerify(flags: Flags, io: CliIO, json: boolean): number {
  const [, path, ...extra] = flags.positionals;
  if (!path || extra.length) throw new UsageError('usage: keyline ledger verify PATH');
  const checkChains = !flags.bool('no-chains');
  flags.rejectUnknown();
  // Audit findings travel in commit records (issue 12); the verifier hands each verified
  // record over, so what is shown is what the signatures cover.
  const withFindings: {
    index: number;
    deviceId: string;
    modemKeyReadable: boolean | null;
    findings: { id: string; severity: string; summary: string }[];
  }[] = [];
  try {
    const v = readExport(resolve(path), {
      checkChains,
      onRecord: (index, r) => {
        if (r.type !== 'commit') return;
        if ((r.findings?.length ?? 0) === 0 && r.modemKeyReadable !== true) return;
        withFindings.push({
          index,
          deviceId: r.deviceId,
          modemKeyReadable: r.modemKeyReadable ?? null,
          findings: (r.findings ?? []).map((f) => ({
            id: f.id,
            severity: f.severity,
            summary: f.summary,
          })),
        });
      },
    });
    const cp = v.checkpoint.checkpoint;
    const result = {
      ok: true,
      stationId: v.stationId,
      firstIndex: v.manifest.firstIndex,
      treeSize: cp.treeSize,
      rootHash: cp.rootHashHex,
      checkpointTime: cp.time,
      algorithm: cp.algorithm,
      consistentWith: v.consistency?.from.checkpoint.treeSize ?? null,
      counts: v.counts,
      revokedSerials: v.crl.serialsHex.length,
      chainsChecked: v.chainsChecked,
      devicesWithFindings: withFindings,
    };
    if (json) printJson(io, result);
    else {
      io.stdout.write(
        `OK: records ${v.manifest.firstIndex}..${cp.treeSize - 1} of station ${v.stationId}, ` +
          `root ${cp.rootHashHex}\n`,
      );
      for (const d of withFindings) {
        const list = d.findings.map((f) => `${f.id} (${f.severity})`).join(', ');
        const key = d.modemKeyReadable ? '; modem key readable over AT' : '';
        io.stdout.write(`  audit findings #${d.index} ${d.deviceId}: ${list || 'none'}${key}\n`);
      }
    }
    return 0;
  } catch (e) {
    if (!(e instanceof ExportVerificationError)) throw e;
    if (json)
      printJson(io, {
        ok: false,
        error: {
          code: e.name,
          message: e.message,
          file: e.file,
          recordIndex: e.recordIndex ?? null,
        },
      });
    io.stderr.write(`keyline: ledger verify FAILED: ${e.message}\n`);
    return 1;
  }
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const flags = new Flags(parseArgs(argv, ['no-chains']));
  const json = flags.bool('json');
  const sub = flags.positionals[0];
  if (sub === 'export') {
    if (flags.positionals.length !== 1)
      throw new UsageError('usage: keyline ledger export --station DIR --out DIR');
    return runExport(flags, io, json);
  }
  if (sub === 'verify') return runVerify(flags, io, json);
  throw new UsageError('usage: keyline ledger export|verify ...');
}
