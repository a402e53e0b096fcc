import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReadOnlyCommand } from '../../main/audit/index.ts';
import {
  commandLines,
  openModem,
  startSimBoard,
  testCredentials,
  type SimBoard,
} from './helpers.ts';
import type { ModemPersonality } from '../../sim/modem/index.ts';
import { runKeyline, type ExecResult } from '../helpers/exec.ts';

function keyline(args: string[]): Promise<ExecResult> {
  return runKeyline(args, { timeoutMs: 90_000 });
}

/** A module with credentials written to context 1 by the driver, port closed again. */
async function withWrittenBoard(personality: ModemPersonality, fn: (b: SimBoard) => Promise<void>) {
  const board = await startSimBoard({ personality });
  try {
    const modem = await openModem(board);
    try {
      await modem.writeTlsCredentials(testCredentials(1));
    } finally {
      await modem.close();
    }
    await fn(board);
  } finally {
    await board.close();
  }
}

describe('keyline audit (spawned CLI)', () => {
  it('hardened: --json prints no findings, exit 0, and sent only read-only lines', async () => {
    await withWrittenBoard('hardened', async (board) => {
      const start = board.sim.received().length;
      const r = await keyline(['audit', '--modem', board.pair.host, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        findings: unknown[];
        port: string;
        module: { model: string; firmware: string };
        probes: Array<{ id: string; outcome: string }>;
      };
      assert.deepEqual(out.findings, []);
      assert.equal(out.port, board.pair.host);
      assert.equal(out.module.model, 'EC25');
      assert.equal(out.module.firmware, 'EC25EFAR06A06M4G_01.001.01.001');
      assert.equal(out.probes.length, 6);
      assert.ok(out.probes.every((p) => p.outcome === 'clean'));
      const lines = commandLines(board.sim.received().subarray(start));
      // ATI once for the family, then the audit; no ATE0, no CMEE.
      assert.equal(lines[0], 'ATI');
      assert.equal(lines.length, 14);
      for (const l of lines) assert.ok(isReadOnlyCommand(l), l);
    });
  });

  it('exposed: --json lists each finding with id, severity and detail, exit 3', async () => {
    await withWrittenBoard('exposed', async (board) => {
      const start = board.sim.received().length;
      const r = await keyline([
        'audit',
        '--modem',
        board.pair.host,
        '--json',
        '--firmware-deny',
        'EC25EFAR06A06M4G*',
      ]);
      assert.equal(r.code, 3, r.stderr);
      const out = JSON.parse(r.stdout) as {
        findings: Array<{ id: string; severity: string; detail: string }>;
      };
      assert.deepEqual(
        out.findings.map((f) => [f.id, f.severity]),
        [
          ['firmware', 'high'],
          ['backdoor-command', 'critical'],
          ['adb-unlock', 'high'],
          ['adb-enabled', 'medium'],
          ['key-readable', 'high'],
        ],
      );
      for (const f of out.findings) assert.deepEqual(Object.keys(f), ['id', 'severity', 'detail']);
      // The CLI has no key to compare with; it still reports that bytes came back.
      assert.match(out.findings[4].detail, /UFS:klck1\.pem .*16 bytes; no key was given/);
      for (const l of commandLines(board.sim.received().subarray(start)))
        assert.ok(isReadOnlyCommand(l), l);
    });
  });

  it('exposed, human output: one line per probe and a count', async () => {
    await withWrittenBoard('exposed', async (board) => {
      const r = await keyline(['audit', '--modem', board.pair.host, '--tls-context', '2']);
      assert.equal(r.code, 3, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.match(
        lines[0],
        /^audit .+: Quectel EC25, firmware EC25EFAR06A06M4G_01\.001\.01\.001$/,
      );
      assert.match(lines[1], /^ {2}firmware +clean$/);
      assert.match(lines[2], /^ {2}backdoor-command +FINDING \(critical\): /);
      // Context 2 was never configured, and its default key name klck2.pem does not exist.
      assert.match(lines[5], /^ {2}key-readable +INCONCLUSIVE \(high\): key file UFS:klck2\.pem/);
      assert.match(lines[6], /^ {2}tls-context +FINDING \(high\): TLS context 2: seclevel is 0/);
      assert.equal(lines[7], '5 finding(s)');
    });
  });

  it('usage errors exit 2 with one line; a missing port exits 1', async () => {
    const noPort = await keyline(['audit', '--json']);
    assert.equal(noPort.code, 2);
    assert.equal(noPort.stderr, 'keyline: missing --modem\n');
    const bad = await keyline(['audit', '--modem', '/dev/null', '--tls-context', '9']);
    assert.equal(bad.code, 2);
    const gone = await keyline(['audit', '--modem', '/nonexistent/keyline-port', '--json']);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr.split('\n').length, 2, gone.stderr);
    assert.equal((JSON.parse(gone.stdout) as { ok: boolean }).ok, false);
  });
});
