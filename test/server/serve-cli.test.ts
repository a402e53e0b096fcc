import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { decodePkcs8, fromHex } from '../../certs/index.ts';
import { LedgerWriter, exportLedger } from '../../main/ledger/index.ts';
import { sealForServer } from '../../server/envelope/envelope.ts';
import { tempDir, testEd25519Signer } from '../ledger/helpers.ts';
import { issueBoard, testPki } from '../ledger/pki.ts';
import { runKeyline } from '../helpers/exec.ts';

const repo = new URL('../../', import.meta.url).pathname;
const tmp = tempDir('serve-cli');
const PASS = 'e2e-key-passphrase';
type Board = Awaited<ReturnType<typeof issueBoard>>;
let board: Board;
let exportDir: string;
const keyFile = join(tmp.path, 'e2e-key.pem');

interface Serve {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  next(event: string): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
}

function serve(extra: string[], env: NodeJS.ProcessEnv): Serve {
  const child = spawn(
    process.execPath,
    [
      'bin/keyline.mjs',
      'serve',
      '--ledger',
      exportDir,
      '--port',
      '0',
      '--e2e-key',
      keyFile,
      '--json',
      ...extra,
    ],
    { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.event === line.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exit,
    next(event) {
      const seen = lines.find((l) => l.event === event && !(l as { taken?: boolean }).taken);
      if (seen) {
        (seen as { taken?: boolean }).taken = true;
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no ${event} line; got ${JSON.stringify(lines)}`)),
          30_000,
        );
        waiters.push({ event, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
  };
}

/** One framed envelope over a mutual-TLS session as the board's modem; resolves with the answer line. */
function sendEnvelopes(port: number, envelopes: Uint8Array[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      cert: board.issued.modem.certificatePem,
      key: Buffer.from(board.issued.modem.privateKeyPem!),
      rejectUnauthorized: false,
    });
    let got = '';
    const answers: string[] = [];
    socket.on('secureConnect', () => {
      for (const e of envelopes) {
        const frame = Buffer.alloc(2 + e.length);
        frame.writeUInt16BE(e.length, 0);
        frame.set(e, 2);
        socket.write(frame);
      }
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      let nl: number;
      while ((nl = got.indexOf('\n')) >= 0) {
        answers.push(got.slice(0, nl));
        got = got.slice(nl + 1);
      }
      if (answers.length === envelopes.length) {
        socket.end();
        resolve(answers);
      }
    });
    socket.on('error', reject);
    setTimeout(
      () => reject(new Error(`timeout; answers so far ${JSON.stringify(answers)}`)),
      20_000,
    ).unref();
  });
}

before(async () => {
  const pki = await testPki();
  const writer = await LedgerWriter.open(join(tmp.path, 'ledger'), {
    signer: testEd25519Signer(4),
    stationId: 'st-serve',
    caChainDer: pki.chainDer,
  });
  board = await issueBoard(pki, 31);
  const i = await writer.append(board.intent);
  await writer.append(board.commit(i.index));
  exportDir = join(tmp.path, 'export');
  await exportLedger(writer, { outDir: exportDir, issuer: pki.issuer, caChainDer: pki.chainDer });
  await writer.close();
});
after(() => tmp.remove());

describe('keyline serve --e2e-key', () => {
  it('creates an encrypted key, accepts a sealed reading from a committed device and refuses its replay', async () => {
    const s = serve(['--create-e2e-key'], { KEYLINE_E2E_PASSPHRASE: PASS });
    try {
      const { serverPublicKeyHex } = (await s.next('e2e-key')) as { serverPublicKeyHex: string };
      const { port } = (await s.next('listening')) as { port: number };
      // The key file is encrypted PKCS#8 that openssl opens with the passphrase, and not without.
      const pem = execFileSync(
        'openssl',
        ['pkey', '-in', keyFile, '-passin', `pass:${PASS}`, '-pubout'],
        { encoding: 'utf8' },
      );
      assert.match(pem, /BEGIN PUBLIC KEY/);
      assert.throws(() =>
        execFileSync('openssl', ['pkey', '-in', keyFile, '-passin', 'pass:wrong'], {
          stdio: 'pipe',
        }),
      );

      const mcu = decodePkcs8(board.issued.mcu.privateKeyPkcs8!);
      const seal = (counter: bigint, text: string) =>
        sealForServer({
          mcuPrivateKey: mcu.secret,
          mcuPublicKey: mcu.publicKey,
          serverPublicKey: fromHex(serverPublicKeyHex),
          counter,
          plaintext: new TextEncoder().encode(text),
        });
      const first = seal(1n, '{"t":21.5}');
      assert.deepEqual(await sendEnvelopes(port, [first, seal(2n, '{"t":21.7}')]), [
        'ok 1',
        'ok 2',
      ]);
      assert.deepEqual(await sendEnvelopes(port, [first]), ['rejected replay']);
      const messages = s.lines.filter((l) => l.event === 'message');
      assert.equal(messages.length, 3);
      assert.ok(JSON.stringify(messages).includes('replay'));
      assert.ok(!JSON.stringify(s.lines).includes('21.5'), 'plaintext readings are not logged');
    } finally {
      s.child.kill('SIGTERM');
      assert.equal(await s.exit, 0);
    }
  });

  it('refuses a wrong passphrase and a missing key file with one-line errors', async () => {
    const wrong = serve([], { KEYLINE_E2E_PASSPHRASE: 'not-the-passphrase' });
    assert.notEqual(await wrong.exit, 0);
    const missing = await runKeyline([
      'serve',
      '--ledger',
      exportDir,
      '--port',
      '0',
      '--e2e-key',
      join(tmp.path, 'nope.pem'),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no end-to-end key at .*--create-e2e-key/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
  });
});
