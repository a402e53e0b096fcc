/**
 * Ledger benchmarks, one JSON line each:
 *  - durable appends/s on this machine's disk, with 1 writer (one fdatasync per record)
 *    and 16 concurrent writers (group commit: appends in flight together share a sync);
 *  - a ledger of N records (default 1,000,000: half intents, half commits holding real
 *    certificate DER), built in bulk with the writer's own framing, then: writer open
 *    (replay + indexes), hardware-ID lookup latency p50/p99, full export, and `verify`
 *    of that export in a fresh process (time and peak RSS);
 *  - certificate-chain checking cost per certificate (extrapolated to N);
 *  - server import into SQLite and device lookup for a smaller export.
 *   node --import tsx bench/ledger.ts [--records N] [--appends M] [--server-records K]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDevelopmentCa,
  createFileSigner,
  deriveDeviceId,
  generateEd25519,
  luhnCheckDigit,
  planDeviceCertificates,
  signDevicePlan,
  verifyChain,
  type HardwareIds,
  type Issuer,
  type Signer,
} from '../certs/index.ts';
import { buildRecord, type NewLedgerRecord } from '../ledger/records.ts';
import { LedgerWriter, exportLedger, RECORDS_FILE } from '../main/ledger/index.ts';
import { encodeFrame } from '../main/ledger/framed-file.ts';
import { readExport } from '../server/export-reader.ts';
import { SqliteDeviceStore } from '../server/device-store.ts';
import { importExport } from '../server/import-export.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function emit(bench: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench, ...fields, cpus: cpus().length, load1: loadavg()[0] }));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const maxRssMiB = () => round(process.resourceUsage().maxRSS / 1024, 1);

// Child mode: verify an export in a fresh process so peak RSS is verify's own.
if (process.argv[2] === 'verify-child') {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const v = readExport(process.argv[3], { checkChains: false });
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      ms: performance.now() - t,
      cpuMs: (used.user + used.system) / 1000,
      maxRssMiB: maxRssMiB(),
      records: v.checkpoint.checkpoint.treeSize,
    }),
  );
  process.exit(0);
}

function board(i: number): HardwareIds {
  const body = `35${String(i).padStart(12, '0')}`;
  return {
    imei: body + luhnCheckDigit(body),
    iccid: `8944${String(i).padStart(15, '0')}`,
    mcuUid: (0xa0000000n + BigInt(i)).toString(16).padStart(24, '0'),
  };
}

function ledgerSigner(): Signer {
  const k = generateEd25519();
  return createFileSigner(k, 'memory:bench-ledger');
}

const records = arg('records', 1_000_000);
const appends = arg('appends', 500);
const serverRecords = arg('server-records', 50_000);
const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-ledger-'));
const signer = ledgerSigner();
try {
  const ca = await createDevelopmentCa({ org: 'Bench' });
  const issuer: Issuer = {
    certificateDer: ca.issuing.certificateDer,
    signer: createFileSigner(ca.issuing.key, 'memory:issuing'),
  };
  const chainDer = [ca.issuing.certificateDer, ca.root.certificateDer];
  const sample = await signDevicePlan(
    planDeviceCertificates({ ids: board(0), issuerCertificateDer: issuer.certificateDer }),
    issuer,
  );
  sample.zeroize();
  const cert = (role: 'modem' | 'mcu') => ({
    serialHex: sample[role].serialHex,
    derB64: Buffer.from(sample[role].certificateDer).toString('base64'),
    sha256Hex: sample[role].fingerprintSha256Hex,
  });
  // Same certificate bytes in every commit (real size); IDs differ per board.
  const intent = (i: number): NewLedgerRecord => {
    const ids = board(i);
    return {
      type: 'intent',
      deviceId: deriveDeviceId(ids),
      hardwareIds: ids,
      batch: `b${Math.floor(i / 1000)}`,
      slot: `s${i % 16}`,
      profile: 'bench',
      operator: 'bench',
      certificates: {
        modem: { serialHex: sample.modem.serialHex, tbsSha256Hex: sample.modem.tbsSha256Hex },
        mcu: { serialHex: sample.mcu.serialHex, tbsSha256Hex: sample.mcu.tbsSha256Hex },
      },
    };
  };
  const commit = (i: number, intentIndex: number): NewLedgerRecord => {
    const ids = board(i);
    return {
      type: 'commit',
      intentIndex,
      deviceId: deriveDeviceId(ids),
      hardwareIds: ids,
      modem: { model: 'EC25', firmware: 'EC25EFAR06A06M4G' },
      certificates: { modem: cert('modem'), mcu: cert('mcu') },
      batch: `b${Math.floor(i / 1000)}`,
      slot: `s${i % 16}`,
      profile: 'bench',
      operator: 'bench',
      modemKeyReadable: false,
    };
  };

  // 1. Durable appends: one writer awaiting each append, then 16 concurrent writers (one
  //    per slot) whose appends share writes and fdatasyncs (group commit).
  {
    const w = await LedgerWriter.open(join(dir, 'durable'), {
      signer,
      stationId: 'st-bench',
      caChainDer: chainDer,
    });
    for (const writers of [1, 16]) {
      const perWriter = Math.ceil(appends / writers);
      const base = writers * 1_000_000;
      const latencies: number[] = [];
      const t = performance.now();
      await Promise.all(
        Array.from({ length: writers }, async (_, k) => {
          for (let i = 0; i < perWriter; i++) {
            const t1 = performance.now();
            await w.append(intent(base + k * perWriter + i));
            latencies.push(performance.now() - t1);
          }
        }),
      );
      const ms = performance.now() - t;
      const total = perWriter * writers;
      latencies.sort((a, b) => a - b);
      const t2 = performance.now();
      await w.checkpoint();
      emit('ledger.durable-append', {
        writers,
        appends: total,
        appendsPerSec: round((total / ms) * 1000, 1),
        meanMs: round(latencies.reduce((a, b) => a + b, 0) / total),
        p99Ms: round(percentile(latencies, 99)),
        checkpointMs: round(performance.now() - t2),
      });
    }
    await w.close();
  }

  // 2. A large ledger, built in bulk with the writer's framing (no fsync per record).
  async function bulkLedger(name: string, n: number): Promise<string> {
    const ledgerDir = join(dir, name);
    const w = await LedgerWriter.open(ledgerDir, {
      signer,
      stationId: 'st-bench',
      caChainDer: chainDer,
    });
    let index = w.size;
    await w.close();
    const fd = openSync(join(ledgerDir, RECORDS_FILE), 'a');
    try {
      const batch: Uint8Array[] = [];
      let bytes = 0;
      const flush = () => {
        const buf = Buffer.concat(batch);
        writeSync(fd, buf);
        batch.length = 0;
        bytes = 0;
      };
      for (let i = 0; index < n; i++) {
        const intentIndex = index;
        for (const body of [intent(i), commit(i, intentIndex)]) {
          if (index >= n) break;
          const f = encodeFrame(buildRecord(body).bytes);
          batch.push(f);
          bytes += f.length;
          index++;
          if (bytes > 8 << 20) flush();
        }
      }
      flush();
    } finally {
      closeSync(fd);
    }
    return ledgerDir;
  }

  const tGen = performance.now();
  const bigDir = await bulkLedger('big', records);
  const genMs = performance.now() - tGen;
  const tOpen = performance.now();
  const w = await LedgerWriter.open(bigDir, {
    signer,
    stationId: 'st-bench',
    caChainDer: chainDer,
  });
  const openMs = performance.now() - tOpen;
  const lookups: number[] = [];
  for (let k = 0; k < 20_000; k++) {
    const i = Math.floor(Math.random() * Math.floor((records - 4) / 2));
    const t = performance.now();
    const m = w.findByHardwareId({ imei: board(i).imei });
    lookups.push(performance.now() - t);
    if (m.length !== 1) throw new Error(`lookup of board ${i} found ${m.length}`);
  }
  lookups.sort((a, b) => a - b);
  const exportDir = join(dir, 'big-export');
  const tExp = performance.now();
  await exportLedger(w, { outDir: exportDir, issuer, caChainDer: chainDer });
  const exportMs = performance.now() - tExp;
  await w.close();
  emit('ledger.large', {
    records,
    generateMs: round(genMs, 0),
    writerOpenMs: round(openMs, 0),
    writerMaxRssMiB: maxRssMiB(),
    lookupP50Ms: round(percentile(lookups, 50), 4),
    lookupP99Ms: round(percentile(lookups, 99), 4),
    lookupTargetMs: 1,
    exportMs: round(exportMs, 0),
  });
  rmSync(bigDir, { recursive: true, force: true });

  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, 'verify-child', exportDir],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  if (child.status !== 0) throw new Error(`verify child failed: ${child.stderr}`);
  const v = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    ms: number;
    cpuMs: number;
    maxRssMiB: number;
    records: number;
  };
  emit('ledger.verify', {
    records: v.records,
    verifyMs: round(v.ms, 0),
    verifyCpuMs: round(v.cpuMs, 0),
    maxRssMiB: v.maxRssMiB,
    targetMs: 30_000,
    targetRssMiB: 1024,
    chainsChecked: false,
  });
  if (process.env.KEYLINE_BENCH_KEEP_EXPORT) console.error(`kept ${exportDir}`);
  else rmSync(exportDir, { recursive: true, force: true });

  // 3. Chain checks per certificate (leaf + issuing CA, OpenSSL ECDSA via node:crypto), extrapolated.
  {
    const n = 100;
    const t = performance.now();
    for (let i = 0; i < n; i++)
      verifyChain(sample.modem.certificateDer, [ca.issuing.certificateDer], ca.root.certificateDer);
    const per = (performance.now() - t) / n;
    emit('ledger.verify-chains', {
      msPerCertificate: round(per),
      certificatesIn: records,
      extrapolatedMsForAllCommits: round(per * records, 0),
    });
  }

  // 4. Server: import into SQLite and look devices up.
  {
    const smallDir = await bulkLedger('server', serverRecords);
    const sw = await LedgerWriter.open(smallDir, {
      signer,
      stationId: 'st-bench',
      caChainDer: chainDer,
    });
    const exp = join(dir, 'server-export');
    await exportLedger(sw, { outDir: exp, issuer, caChainDer: chainDer });
    await sw.close();
    const store = new SqliteDeviceStore(join(dir, 'devices.sqlite'));
    try {
      const t = performance.now();
      const r = importExport(store, exp, { checkChains: false });
      const importMs = performance.now() - t;
      const lat: number[] = [];
      for (let k = 0; k < 20_000; k++) {
        const t1 = performance.now();
        store.deviceByCertificate(sample.modem.fingerprintSha256Hex);
        lat.push(performance.now() - t1);
      }
      lat.sort((a, b) => a - b);
      emit('ledger.server-import', {
        records: serverRecords,
        devices: r.devicesAdded,
        importMs: round(importMs, 0),
        storeLookupP50Ms: round(percentile(lat, 50), 4),
        storeLookupP99Ms: round(percentile(lat, 99), 4),
      });
    } finally {
      store.close();
    }
  }
} finally {
  signer.dispose();
  if (!process.env.KEYLINE_BENCH_KEEP_EXPORT) rmSync(dir, { recursive: true, force: true });
}
