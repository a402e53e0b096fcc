import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runKeyline, type ExecResult } from '../helpers/exec.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-demo-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function keyline(args: string[]): Promise<ExecResult> {
  return runKeyline(args, { env: { ...process.env, KEYLINE_PASSPHRASE: '' } });
}

interface Summary {
  type: 'summary';
  ok: boolean;
  boards: Array<{
    slot: string;
    deviceId: string;
    imei: string;
    result: string;
    failure?: { step: string; reason: string };
  }>;
  ledgerVerify: { ok: boolean; detail: string };
  kept: string | null;
}

test('keyline demo provisions its boards, verifies the export and cleans up', async () => {
  const r = await keyline(['demo']);
  assert.equal(r.code, 0, r.stderr);
  const workdir = /working in (\S+)/.exec(r.stdout)?.[1];
  assert.ok(workdir, r.stdout);
  assert.match(r.stdout, /demo passphrase "keyline-demo-passphrase"/);
  const rows = r.stdout
    .split('\n')
    .filter((l) =>
      /^\d+\s+kl1-[0-9a-f]{24}\s+\d{15}\s+89[0-9A-F]+\s+[0-9a-f]{24}\s+PASS\s/.test(l),
    );
  assert.equal(rows.length, 4, r.stdout);
  assert.match(r.stdout, /ledger export VERIFIED: \d+ records/);
  assert.match(r.stdout, /PASS: 4\/4 boards provisioned/);
  assert.equal(existsSync(workdir), false, 'the temporary station is removed');
});

test('--json --slots 2 --keep DIR: one summary line, and the station stays for inspection', async () => {
  const keep = join(dir, 'kept');
  const r = await keyline(['demo', '--json', '--slots', '2', '--keep', keep]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string });
  const summary = lines.at(-1) as Summary;
  assert.equal(summary.type, 'summary');
  assert.equal(summary.ok, true);
  assert.equal(summary.boards.length, 2);
  assert.ok(summary.boards.every((b) => b.result === 'PASS' && b.deviceId.startsWith('kl1-')));
  assert.equal(summary.ledgerVerify.ok, true);
  assert.equal(summary.kept, keep);
  assert.ok(
    lines.some((l) => l.type === 'pass'),
    'pipeline events are JSON lines too',
  );
  assert.deepEqual(readdirSync(keep).sort(), ['export', 'fixture', 'station']);
  assert.ok(
    existsSync(join(keep, 'export', 'records.jsonl')) ||
      readdirSync(join(keep, 'export')).length > 0,
  );
});

test('a fault on one board fails that board, names the step and the answer, exit code 1', async () => {
  const r = await keyline([
    'demo',
    '--json',
    '--slots',
    '2',
    '--faults',
    '2:modem.cme=AT+QFUPL/409',
  ]);
  assert.equal(r.code, 1);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
  assert.equal(summary.ok, false);
  assert.equal(summary.boards[0].result, 'PASS');
  assert.equal(summary.boards[1].result, 'FAIL');
  assert.equal(summary.boards[1].failure?.step, 'modem-write');
  assert.match(summary.boards[1].failure?.reason ?? '', /\+CME ERROR: 409/);
  assert.equal(summary.ledgerVerify.ok, true, 'the aborted board still leaves a verifiable ledger');
});

test('bad options are refused with a one-line error', async () => {
  const r = await keyline(['demo', '--slots', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--slots must be an integer in 1\.\.32/);
  const u = await keyline(['demo', '--colour', 'red']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown option --colour/);
});
