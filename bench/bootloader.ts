// Writing and verifying a 2 KiB credential blob at 115200 baud: keyline's AN3155 client
// against stm32flash (`-w blob.bin -v -S ADDR`), the same file into the same simulated
// part, each run on a freshly erased simulator. Prints one JSON line.
//
//   node --import tsx bench/bootloader.ts [--reps N] [--warmup N] [--family L4|F4] [--cpu N]
//
// --cpu N pins the bench, and so everything it starts (simulator, socat, stm32flash), to
// CPU N (Linux, through taskset): the PTY relay's wake-ups then never cross CPUs, which on
// a 2-vCPU machine moves the comparison by several ms (docs/mcu-driver.md).
//
// The first --warmup runs of each (default 1) are not counted: a station is a long-running
// process whose code the JIT has compiled after its first board. They are reported.
import { execFile, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import {
  BootloaderClient,
  encodeCredentialBlob,
  deviceForPid,
  writeCredentials,
} from '../main/mcu/index.ts';
import { SerialTransport } from '../main/transport/serial-transport.ts';
import { createPtyPair } from '../sim/pty.ts';
import type { BootloaderStats, McuFamily } from '../sim/stm32/index.ts';

const run = promisify(execFile);
const BAUD = 115200;
const BLOB_BYTES = 2048;

const AREAS: Record<'L4' | 'F4', { address: number; size: number; firmwareEnd: number }> = {
  L4: { address: 0x0803_f000, size: 2048, firmwareEnd: 0x0803_f000 },
  F4: { address: 0x0800_c000, size: 16384, firmwareEnd: 0x0800_c000 },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** A valid v1 blob of exactly 2048 bytes (certificate bodies sized to fill it). */
function blob2k(): Uint8Array {
  const der = (len: number) =>
    Uint8Array.from({ length: len }, (_, i) => (i === 0 ? 0x30 : (i * 37) & 0xff));
  const b = encodeCredentialBlob({
    deviceId: 'kl1-70f85d3f9036f695f8508881',
    mcuUid: '0085004c3136501120383048',
    mcuPrivateKey: p256.utils.randomSecretKey(),
    mcuCertificateDer: der(1000),
    serverPublicKey: p256.getPublicKey(p256.utils.randomSecretKey(), false),
    serverCaCertificateDer: der(BLOB_BYTES - 212 - 1000 - 4),
    modemCertSha256: new Uint8Array(32).fill(7),
  });
  if (b.length !== BLOB_BYTES) throw new Error(`blob is ${b.length} bytes`);
  return b;
}

interface DeviceReport {
  type: 'stopped';
  stats: BootloaderStats;
  flash: string;
}

/**
 * A fresh (erased) simulated part on a new PTY pair, running in its own process; the
 * caller times only the host side. `finish` stops it and returns its stats and the flash
 * bytes at `address`.
 */
async function freshBoard(family: McuFamily) {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-bench-bl-'));
  const pair = await createPtyPair(dir, 'mcu');
  const device = fork(
    fileURLToPath(new URL('./bootloader-device.ts', import.meta.url)),
    [pair.device, family, '0085004c3136501120383048', String(BAUD), join(dir, 'flash.bin')],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const exited = new Promise<void>((resolve) => device.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    device.once('message', () => resolve());
    device.once('exit', (code) =>
      reject(new Error(`bench device exited (${code}) before it was ready`)),
    );
  });
  return {
    dir,
    pair,
    async finish(address: number, length: number) {
      const report = new Promise<DeviceReport>((resolve) =>
        device.once('message', (m: DeviceReport) => resolve(m)),
      );
      device.send({ type: 'stop', address, length });
      const r = await report;
      return { stats: r.stats, flash: new Uint8Array(Buffer.from(r.flash, 'base64')) };
    },
    async close() {
      if (device.exitCode === null && device.signalCode === null) device.kill();
      await exited;
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function keylineRun(
  family: 'L4' | 'F4',
  blob: Uint8Array,
): Promise<{ ms: number; modelledMs: number }> {
  const board = await freshBoard(family);
  try {
    const area = AREAS[family];
    const copy = blob.slice();
    const t0 = performance.now();
    const transport = await SerialTransport.open({
      path: board.pair.host,
      baudRate: BAUD,
      parity: 'none',
    });
    const client = new BootloaderClient(transport);
    try {
      // The same protocol work stm32flash does before writing (sync, Get, Get ID); the UID
      // read belongs to the identify step, which stm32flash does not do.
      await client.sync();
      await client.get();
      const device = deviceForPid(await client.getId(), client.port);
      await writeCredentials(
        client,
        {
          family: device,
          area: { address: area.address, size: area.size },
          firmwareRegion: { start: 0x0800_0000, end: area.firmwareEnd },
        },
        copy,
        { readoutProtect: false },
      );
    } finally {
      await client.close();
    }
    const ms = performance.now() - t0;
    const { stats, flash } = await board.finish(area.address, blob.length);
    if (!flash.every((b, i) => b === blob[i]))
      throw new Error('keyline run left different bytes in flash');
    return { ms, modelledMs: stats.modelledMs };
  } finally {
    await board.close();
  }
}

async function stm32flashRun(
  family: 'L4' | 'F4',
  blob: Uint8Array,
): Promise<{ ms: number; modelledMs: number }> {
  const board = await freshBoard(family);
  try {
    const area = AREAS[family];
    const file = join(board.dir, 'blob.bin');
    writeFileSync(file, blob);
    const t0 = performance.now();
    await run(
      'stm32flash',
      [
        '-m',
        '8n1',
        '-b',
        String(BAUD),
        '-w',
        file,
        '-v',
        '-S',
        `0x${area.address.toString(16)}`,
        board.pair.host,
      ],
      {
        timeout: 120_000,
      },
    );
    const ms = performance.now() - t0;
    const { stats, flash } = await board.finish(area.address, blob.length);
    if (!flash.every((b, i) => b === blob[i]))
      throw new Error('stm32flash run left different bytes in flash');
    return { ms, modelledMs: stats.modelledMs };
  } finally {
    await board.close();
  }
}

/**
 * Pins every thread of this process to `cpu`; children started afterwards inherit it.
 * Node has no sched_setaffinity, so util-linux's taskset does it from outside.
 */
function pinToCpu(cpu: string): void {
  if (!/^\d+$/.test(cpu)) throw new Error(`--cpu takes a CPU number, not "${cpu}"`);
  const before = allowedCpus();
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpu, String(process.pid)], {
      stdio: 'ignore',
    });
  } catch {
    throw new Error(`--cpu ${cpu}: taskset could not pin the bench (allowed CPUs: ${before})`);
  }
}

/** The CPUs this process may run on, as the kernel lists them ("0-1", "0"). */
function allowedCpus(): string {
  const status = readFileSync('/proc/self/status', 'utf8');
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? 'unknown';
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    median: r(s[Math.floor(s.length / 2)]),
    min: r(s[0]),
    max: r(s[s.length - 1]),
    runs: xs.map(r),
  };
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
  const warmup = Number(arg('warmup', '1'));
  const family = arg('family', 'L4') as 'L4' | 'F4';
  if (!(family in AREAS)) throw new Error(`--family must be L4 or F4`);
  const cpu = arg('cpu', '');
  if (cpu) pinToCpu(cpu);
  const blob = blob2k();
  const keyline: number[] = [];
  const tool: number[] = [];
  const warmupRuns = { keyline: [] as number[], stm32flash: [] as number[] };
  let keylineModelled = 0;
  let toolModelled = 0;
  // Interleaved so machine load drifts hit both alike.
  for (let i = 0; i < warmup + reps; i++) {
    const k = await keylineRun(family, blob);
    const s = await stm32flashRun(family, blob);
    if (i < warmup) {
      warmupRuns.keyline.push(Math.round(k.ms * 10) / 10);
      warmupRuns.stm32flash.push(Math.round(s.ms * 10) / 10);
      continue;
    }
    keyline.push(k.ms);
    tool.push(s.ms);
    keylineModelled = k.modelledMs;
    toolModelled = s.modelledMs;
  }
  const k = summary(keyline);
  const s = summary(tool);
  // Each keyline run against the stm32flash run right after it: drift in machine load,
  // which moves both medians by several ms between sessions, mostly cancels out.
  const delta = summary(keyline.map((ms, i) => ms - tool[i]));
  console.log(
    JSON.stringify({
      bench: 'bootloader-write-verify',
      family,
      baud: BAUD,
      cpus: allowedCpus(),
      blobBytes: BLOB_BYTES,
      reps,
      keylineMs: k,
      stm32flashMs: s,
      warmupMs: warmupRuns,
      pairedDeltaMs: { median: delta.median, min: delta.min, max: delta.max },
      // Wire + flash time the simulator modelled for each session: the floor for any host.
      modelledMs: { keyline: Math.round(keylineModelled), stm32flash: Math.round(toolModelled) },
      target: 'keyline median <= stm32flash median',
      met: k.median <= s.median,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
