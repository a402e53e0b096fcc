import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { ephemeralServerCertificate, type TlsServerCredentials } from '../../server/index.ts';
import { AtHost, AtHostError } from '../../sim/field/index.ts';
import { ModemSimulator, type ModemModel } from '../../sim/modem/index.ts';
import { emptyModemState, writeModemState } from '../../sim/modem/state-file.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';

let dir: string;
let serverCreds: TlsServerCredentials;
let clientCreds: TlsServerCredentials;
let otherCreds: TlsServerCredentials;
let server: Server;
let port: number;
/** Per accepted connection: the client certificate it showed and the bytes it sent. */
const peers: { cert: Buffer; data: Buffer[]; socket: TLSSocket }[] = [];
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-field-ssl-'));
  [serverCreds, clientCreds, otherCreds] = await Promise.all([
    ephemeralServerCertificate(),
    ephemeralServerCertificate(),
    ephemeralServerCertificate(),
  ]);
  // An echo server that wants a client certificate and records which one it got.
  server = createServer({
    ...serverCreds,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('secureConnection', (s: TLSSocket) => {
    const peer = { cert: s.getPeerCertificate().raw, data: [] as Buffer[], socket: s };
    peers.push(peer);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      peer.data.push(d);
      if (d.toString() === 'bye') s.end();
      else s.write(Buffer.concat([Buffer.from('echo:'), d]));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  for (const p of peers) p.socket.destroy();
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;

/** A modem whose UFS and TLS context 1 hold `files` (as the station would have left them). */
async function modemWith(
  files: Record<string, string>,
  ssl: Record<string, string>,
  model: ModemModel = 'EC25',
): Promise<{ at: AtHost; sim: ModemSimulator; pair: PtyPair }> {
  const n = ++counter;
  const stateFile = join(dir, `modem${n}.json`);
  const state = emptyModemState(model, '860000000000017', '89490000000000000017', 'FW');
  for (const [name, text] of Object.entries(files))
    state.files[model === 'M66' ? 'NVRAM' : 'UFS'].set(name, new TextEncoder().encode(text));
  state.ssl.set(
    1,
    new Map(
      Object.entries(ssl).map(([k, v]) => [k, { value: v, quoted: !/^\d+$/.test(v) }] as const),
    ),
  );
  await writeModemState(stateFile, state);
  const pair = await createPtyPair(dir, `m${n}`);
  const sim = await ModemSimulator.start({
    devicePath: pair.device,
    model,
    imei: '860000000000017',
    iccid: '89490000000000000017',
    baud: 115200,
    stateFile,
    latencyScale: 0,
  });
  const at = new AtHost(
    await SerialTransport.open({ path: pair.host, baudRate: 115200, parity: 'none' }),
  );
  cleanups.push(async () => {
    await at.close();
    await sim.stop();
    await pair.close();
  });
  await at.command('ATE0');
  return { at, sim, pair };
}

const goodContext = {
  seclevel: '2',
  cacert: 'UFS:ca.pem',
  clientcert: 'UFS:cc.pem',
  clientkey: 'UFS:ck.pem',
};

function goodFiles(): Record<string, string> {
  return { 'ca.pem': serverCreds.cert, 'cc.pem': clientCreds.cert, 'ck.pem': clientCreds.key };
}

const openUrc = (conn: number) => (l: string) => l.startsWith(`+QSSLOPEN: ${conn},`);

test('QSSLOPEN presents the stored client certificate; SEND, RECV and the URCs carry real TLS data', async () => {
  const { at } = await modemWith(goodFiles(), goodContext);
  const before = peers.length;
  assert.deepEqual(await at.command(`AT+QSSLOPEN=1,1,0,"127.0.0.1",${port},0`), []);
  assert.equal(await at.waitUrc(openUrc(0), 20_000), '+QSSLOPEN: 0,0');
  assert.equal(peers.length, before + 1);
  const peer = peers[before];
  assert.equal(
    peer.cert.toString('base64'),
    clientCreds.cert.replace(/-----[^-]+-----|\s/g, ''),
    'the server saw the certificate from the modem file',
  );
  // Binary data with CR, LF and "+++" survives the data phase unchanged.
  const payload = Uint8Array.from([0x0d, 0x0a, 0x2b, 0x2b, 0x2b, 0x00, 0xff, 0x41, 0x54]);
  await at.sslSend(0, payload);
  await at.waitUrc((l) => l === '+QSSLURC: "recv",0', 10_000);
  assert.deepEqual(Buffer.concat(peer.data), Buffer.from(payload));
  const first = await at.sslRecv(0, 3);
  const rest = await at.sslRecv(0, 1500);
  assert.deepEqual(Buffer.concat([first, rest]), Buffer.concat([Buffer.from('echo:'), payload]));
  assert.equal((await at.sslRecv(0, 10)).length, 0, 'nothing left: +QSSLRECV: 0');
  // The server ends the session: the modem says so.
  await at.sslSend(0, new TextEncoder().encode('bye'));
  await at.waitUrc((l) => l === '+QSSLURC: "closed",0', 10_000);
  await assert.rejects(at.sslSend(0, Uint8Array.of(1)), AtHostError, 'no send on a closed session');
  assert.deepEqual(await at.command('AT+QSSLCLOSE=0'), []);
});

test('the modem refuses a server its stored CA does not vouch for, and a context without its key', async () => {
  const untrusting = await modemWith({ ...goodFiles(), 'ca.pem': otherCreds.cert }, goodContext);
  await untrusting.at.command(`AT+QSSLOPEN=1,1,2,"127.0.0.1",${port},0`);
  assert.equal(await untrusting.at.waitUrc(openUrc(2), 20_000), '+QSSLOPEN: 2,566');

  const keyless = await modemWith(
    { 'ca.pem': serverCreds.cert, 'cc.pem': clientCreds.cert },
    goodContext,
  );
  await keyless.at.command(`AT+QSSLOPEN=1,1,0,"127.0.0.1",${port},0`);
  assert.equal(await keyless.at.waitUrc(openUrc(0), 20_000), '+QSSLOPEN: 0,566');
});

test('session commands check their arguments and the connection state', async () => {
  const { at, sim } = await modemWith(goodFiles(), goodContext);
  const answer = (cmd: string) =>
    at.command(cmd).then(
      () => 'OK',
      (e: AtHostError) => e.answer,
    );
  assert.equal(await answer('AT+QSSLSEND=3,5'), 'ERROR', 'no such session');
  assert.equal(await answer('AT+QSSLRECV=3,5'), 'ERROR');
  assert.equal(await answer(`AT+QSSLOPEN=1,6,0,"127.0.0.1",${port},0`), '+CME ERROR: 552');
  assert.equal(await answer(`AT+QSSLOPEN=1,1,0,127.0.0.1,${port},0`), '+CME ERROR: 552');
  assert.equal(await answer(`AT+QSSLOPEN=1,1,0,"127.0.0.1",${port},2`), '+CME ERROR: 555');
  assert.equal(await answer(`AT+QSSLOPEN=1,1,1,"127.0.0.1",${port},0`), 'OK');
  assert.equal(await at.waitUrc(openUrc(1), 20_000), '+QSSLOPEN: 1,0');
  assert.equal(await answer(`AT+QSSLOPEN=1,1,1,"127.0.0.1",${port},0`), '+CME ERROR: 563');
  assert.equal(await answer('AT+QSSLSEND=1,0'), '+CME ERROR: 552');
  assert.equal(await answer('AT+QSSLSEND=1,1461'), '+CME ERROR: 552');
  // A power cycle drops the session on the server side too.
  const peer = peers.at(-1)!;
  const closed = once(peer.socket, 'close');
  await sim.powerCycle();
  await closed;
  await at.waitUrc((l) => l === 'RDY', 10_000);
});

test('2G modules answer ERROR to the LTE session syntax', async () => {
  const { at } = await modemWith({}, {}, 'M66');
  await assert.rejects(at.command(`AT+QSSLOPEN=1,1,0,"127.0.0.1",${port},0`), /answered ERROR/);
});
