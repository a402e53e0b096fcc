import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { runKeyline } from '../helpers/exec.ts';

const bin = new URL('../../bin/keyline.mjs', import.meta.url).pathname;

/** Starts `keyline sim` and resolves with the first slot's modem PTY path. */
function startSim(profile: string): Promise<{ child: ChildProcess; modem: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'sim', '--slots', '1', '--modem-profile', profile, '--latency-scale', '0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`keyline sim printed no slot within 60 s: ${err}`));
    }, 60_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve({ child, modem: (JSON.parse(out.slice(0, nl)) as { modem: string }).modem });
      } catch (e) {
        child.kill('SIGTERM');
        reject(e as Error);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyline sim exited (${code}) before printing a slot: ${err}`));
    });
  });
}

async function stopSim(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function audit(port: string): Promise<{ code: number; findings: Array<{ id: string }> }> {
  const r = await runKeyline(['audit', '--modem', port, '--json'], { timeoutMs: 90_000 });
  try {
    const out = JSON.parse(r.stdout) as { findings: Array<{ id: string }> };
    return { code: r.code, findings: out.findings };
  } catch {
    throw new Error(`audit printed no JSON: ${r.stdout} ${r.stderr}`);
  }
}

/**
 * `keyline sim --modem-profile` passes the personality through to the fixture's modem. No
 * credentials are written here, so key-readable is inconclusive and tls-context a finding
 * on both; the debug probes tell the two personalities apart.
 */
describe('keyline audit against keyline sim --modem-profile', () => {
  for (const [profile, debug] of [
    ['hardened', []],
    ['exposed', ['backdoor-command', 'adb-unlock', 'adb-enabled']],
  ] as const) {
    it(`${profile}: debug findings ${debug.length ? debug.join(', ') : 'none'}`, async () => {
      const { child, modem } = await startSim(profile);
      try {
        const r = await audit(modem);
        assert.equal(r.code, 3);
        assert.deepEqual(
          r.findings.map((f) => f.id),
          [...debug, 'key-readable', 'tls-context'],
        );
      } finally {
        await stopSim(child);
      }
    });
  }
});
