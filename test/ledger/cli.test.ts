import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { pemDecodeAll } from '../../certs/index.ts';
import { main } from '../../main/cli/index.ts';
import type { CliIO } from '../../main/cli/io.ts';
import { LedgerWriter, ledgerDirOf } from '../../main/ledger/index.ts';
import { createStation, openStation } from '../../main/station/index.ts';
import { EXPORT_FILES } from '../../ledger/export-format.ts';
import { tempDir } from './helpers.ts';
import { issueBoard } from './pki.ts';

const PASS = 'correct horse battery';
const tmp = tempDir('ledger-cli');
const stationDir = join(tmp.path, 'station');
let board: Awaited<ReturnType<typeof issueBoard>>;
after(() => tmp.remove());

function capture(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(chunk.toString());
        cb();
      },
    });
  return {
    io: {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      env: { KEYLINE_PASSPHRASE: PASS },
      signal: new AbortController().signal,
    },
    out: () => out,
    err: () => err,
  };
}

before(async () => {
  await createStation(stationDir, PASS, { kdfIterations: 1000 });
  const st = await openStation(stationDir, PASS);
  try {
    const chainDer = pemDecodeAll(st.issuer.chainPem).map((b) => b.der);
    const pki = {
      issuer: { certificateDer: st.issuer.certificateDer, signer: st.issuer.signer },
      chainDer,
      rootDer: chainDer[chainDer.length - 1],
    };
    const w = await LedgerWriter.open(ledgerDirOf(stationDir), {
      signer: st.ledgerSigner,
      stationId: st.stationId,
      caChainDer: chainDer,
    });
    try {
      board = await issueBoard(pki, 51);
      const i = await w.append(board.intent);
      await w.append(board.commit(i.index));
    } finally {
      await w.close();
    }
  } finally {
    st.close();
  }
});

describe('keyline ledger / keyline serve', () => {
  it('exports with the station passphrase and verifies; a tampered export exits 1 naming the record', async () => {
    const out = join(tmp.path, 'export');
    const e = capture();
    assert.equal(
      await main(['ledger', 'export', '--station', stationDir, '--out', out, '--json'], e.io),
      0,
      e.err(),
    );
    const exported = JSON.parse(e.out());
    assert.equal(exported.ok, true);
    assert.equal(exported.firstIndex, 0);
    const v = capture();
    assert.equal(await main(['ledger', 'verify', out, '--json'], v.io), 0, v.err());
    const verified = JSON.parse(v.out());
    assert.equal(verified.rootHash, exported.rootHash);
    assert.equal(verified.counts.commit, 1);
    assert.equal(verified.chainsChecked, true);

    const records = join(out, EXPORT_FILES.records);
    const lines = readFileSync(records, 'utf8').split('\n');
    lines[3] = lines[3].replace('"operator":"op"', '"operator":"oq"');
    writeFileSync(records, lines.join('\n'));
    const bad = capture();
    assert.equal(await main(['ledger', 'verify', out, '--json'], bad.io), 1);
    const failure = JSON.parse(bad.out());
    assert.equal(failure.ok, false);
    assert.equal(failure.error.recordIndex, 3);
    assert.equal(failure.error.file, 'records.jsonl');
    assert.match(bad.err(), /records\.jsonl record 3: altered/);

    const noPass = capture();
    noPass.io.env = {};
    assert.equal(
      await main(
        ['ledger', 'export', '--station', stationDir, '--out', join(tmp.path, 'x')],
        noPass.io,
      ),
      1,
    );
    assert.match(noPass.err(), /KEYLINE_PASSPHRASE/);
  });

  it('serve imports the export, accepts the committed device over mutual TLS and logs the decision', async () => {
    const out = join(tmp.path, 'export-serve');
    const e = capture();
    assert.equal(
      await main(['ledger', 'export', '--station', stationDir, '--out', out], e.io),
      0,
      e.err(),
    );
    const child = spawn(
      process.execPath,
      ['bin/keyline.mjs', 'serve', '--ledger', out, '--port', '0', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines: Record<string, unknown>[] = [];
      let buf = '';
      const waiters: (() => void)[] = [];
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          lines.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
        waiters.forEach((w) => w());
      });
      const waitFor = (pred: (l: Record<string, unknown>) => boolean) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`serve said: ${JSON.stringify(lines)}`)),
            60_000,
          );
          const check = () => {
            const hit = lines.find(pred);
            if (hit) {
              clearTimeout(timer);
              resolve(hit);
            }
          };
          waiters.push(check);
          check();
        });
      const listening = await waitFor((l) => l.event === 'listening');
      const answer = await new Promise<string>((resolve, reject) => {
        const s = connect({
          host: '127.0.0.1',
          port: listening.port as number,
          cert: board.issued.modem.certificatePem,
          key: Buffer.from(board.issued.modem.privateKeyPem!),
          ca: listening.ephemeralCertificate as string,
          checkServerIdentity: () => undefined,
        });
        let data = '';
        s.on('data', (d) => (data += d.toString()));
        s.on('close', () => resolve(data));
        s.on('error', reject);
      });
      assert.equal(JSON.parse(answer).deviceId, board.issued.deviceId);
      const decision = await waitFor((l) => l.event === 'decision');
      assert.equal(decision.accepted, true);
      assert.equal(decision.reason, 'committed');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
