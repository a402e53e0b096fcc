import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { quectelChecksum, readModemState } from '../../sim/modem/index.ts';
import { withModemHarness, type ModemHarness } from '../../sim/modem/harness.ts';

/** Amazon Root CA 1 as Mozilla ships it (LF line endings): protocols-reference A.4's vector. */
const amazonRootCa1 = `-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
`;

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** Uploads `data` (no ack mode) and returns the answer after CONNECT, or the refusal. */
async function qfupl(h: ModemHarness, name: string, data: Uint8Array, args = ''): Promise<string> {
  await h.send(`AT+QFUPL="${name}",${data.length}${args}\r`);
  const connect = await h.readUntil(/\r\n(CONNECT|ERROR|\+CME ERROR: \d+)\r\n$/);
  if (!connect.endsWith('\r\nCONNECT\r\n')) return connect;
  await h.send(data);
  return h.readUntil(/\r\n(OK|ERROR|\+CME ERROR: \d+)\r\n$/);
}

describe('modem simulator: checksum', () => {
  it('matches the reference vectors (A.4) and puts an odd last byte high', () => {
    assert.equal(quectelChecksum(bytes('-----BEGIN CERTIFICATE-----\r')), 0x6c53);
    assert.equal(quectelChecksum(bytes(amazonRootCa1.replace(/\n/g, '\r\n'))), 0x5769);
    assert.equal(quectelChecksum(bytes(amazonRootCa1)), 0x2d13);
    assert.equal(quectelChecksum(bytes('abc')), 0x6162 ^ 0x6300);
    assert.equal(quectelChecksum(new Uint8Array(0)), 0);
  });
});

describe('modem simulator: UFS files', () => {
  it('reports upload size and checksum in lowercase hex without padding', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      assert.equal(
        await qfupl(h, 'hdr.pem', bytes('-----BEGIN CERTIFICATE-----\r')),
        '\r\n+QFUPL: 28,6c53\r\n\r\nOK\r\n',
      );
      assert.equal(await qfupl(h, 'odd.bin', bytes('abc')), '\r\n+QFUPL: 3,262\r\n\r\nOK\r\n');
      const crlf = bytes(amazonRootCa1.replace(/\n/g, '\r\n'));
      assert.equal(await qfupl(h, 'UFS:amazon.pem', crlf), '\r\n+QFUPL: 1208,5769\r\n\r\nOK\r\n');
      assert.deepEqual(h.sim.files('UFS').get('amazon.pem'), crlf);
      assert.equal(
        await h.at('AT+QFLST="*"'),
        '\r\n+QFLST: "amazon.pem",1208\r\n+QFLST: "hdr.pem",28\r\n+QFLST: "odd.bin",3\r\n\r\nOK\r\n',
      );
      assert.equal(await h.at('AT+QFLDS'), '\r\n+QFLDS: 1239,3\r\n\r\nOK\r\n');
    }));

  it('sends one A per 1024 bytes in ack mode and waits for the host', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      const data = new Uint8Array(2500).map((_, i) => (i * 7) & 0xff);
      await h.send(`AT+QFUPL="blob.bin",${data.length},10,1\r`);
      assert.equal(await h.readUntil('\r\nCONNECT\r\n'), '\r\nCONNECT\r\n');
      await h.send(data.subarray(0, 1000));
      assert.equal(await h.drain(150), '', 'no ack before 1024 bytes');
      await h.send(data.subarray(1000, 1024));
      assert.equal(await h.readUntil('A'), 'A');
      await h.send(data.subarray(1024, 2048));
      assert.equal(await h.readUntil('A'), 'A');
      await h.send(data.subarray(2048));
      const ck = quectelChecksum(data).toString(16);
      assert.equal(await h.readUntil('OK\r\n'), `\r\n+QFUPL: 2500,${ck}\r\n\r\nOK\r\n`);
      assert.deepEqual(h.sim.files('UFS').get('blob.bin'), data);
    }));

  it('refuses an existing name with 407, deletes with OK, 405 when missing', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      assert.match(await qfupl(h, 'ca.pem', bytes('one')), /\+QFUPL: 3,/);
      assert.equal(await qfupl(h, 'ca.pem', bytes('two')), '\r\n+CME ERROR: 407\r\n');
      assert.deepEqual(h.sim.files('UFS').get('ca.pem'), bytes('one'));
      assert.equal(await h.at('AT+QFDEL="ca.pem"'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFDEL="ca.pem"'), '\r\n+CME ERROR: 405\r\n');
      assert.match(await qfupl(h, 'ca.pem', bytes('two')), /\+QFUPL: 3,/);
      assert.match(await qfupl(h, 'b.pem', bytes('bb')), /\+QFUPL: 2,/);
      assert.equal(await h.at('AT+QFDEL="*"'), '\r\nOK\r\n');
      assert.equal(h.sim.files('UFS').size, 0);
      assert.equal(await h.at('AT+QFLST="*"'), '\r\nOK\r\n');
    }));

  it('answers 420 when the file does not fit and 403 when the drive is full', () =>
    withModemHarness({ ufsCapacityBytes: 100 }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+QFLDS="UFS"'), '\r\n+QFLDS: 100,100\r\n\r\nOK\r\n');
      assert.match(await qfupl(h, 'a', new Uint8Array(60)), /\+QFUPL: 60,0/);
      assert.equal(await qfupl(h, 'b', new Uint8Array(50)), '\r\n+CME ERROR: 420\r\n');
      assert.match(await qfupl(h, 'c', new Uint8Array(40)), /\+QFUPL: 40,0/);
      assert.equal(await h.at('AT+QFLDS="UFS"'), '\r\n+QFLDS: 0,100\r\n\r\nOK\r\n');
      assert.equal(await qfupl(h, 'd', new Uint8Array(1)), '\r\n+CME ERROR: 403\r\n');
      assert.deepEqual([...h.sim.files('UFS').keys()].sort(), ['a', 'c']);
    }));

  it('ends an upload after the idle timeout and reports the bytes that came', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      await h.send('AT+QFUPL="short.bin",100,1\r');
      await h.readUntil('\r\nCONNECT\r\n');
      const part = bytes('only forty bytes of the hundred declared');
      assert.equal(part.length, 40);
      const t0 = Date.now();
      await h.send(part);
      const answer = await h.readUntil('OK\r\n', 10_000);
      assert.ok(Date.now() - t0 >= 900, 'waited for the idle timeout');
      assert.equal(answer, `\r\n+QFUPL: 40,${quectelChecksum(part).toString(16)}\r\n\r\nOK\r\n`);
      assert.deepEqual(h.sim.files('UFS').get('short.bin'), part);
      await h.send('AT+QFUPL="none.bin",10,1\r');
      await h.readUntil('\r\nCONNECT\r\n');
      assert.equal(await h.readUntil(/ERROR: \d+\r\n$/, 10_000), '\r\n+CME ERROR: 421\r\n');
      assert.equal(h.sim.files('UFS').has('none.bin'), false);
    }));

  it('ends an upload on +++ framed by a second of silence, keeping the bytes before it', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      await h.send('AT+QFUPL="esc.bin",100,10\r');
      await h.readUntil('\r\nCONNECT\r\n');
      await h.send('0123456789');
      await sleep(1200);
      await h.send('+++');
      const ck = quectelChecksum(bytes('0123456789')).toString(16);
      assert.equal(await h.readUntil('OK\r\n', 10_000), `\r\n+QFUPL: 10,${ck}\r\n\r\nOK\r\n`);
      assert.deepEqual(h.sim.files('UFS').get('esc.bin'), bytes('0123456789'));
    }));

  it('stores + bytes that are not a guarded escape', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      await h.send('AT+QFUPL="plus.bin",9,10\r');
      await h.readUntil('\r\nCONNECT\r\n');
      await h.send('ab+++');
      await sleep(1200);
      await h.send('++x');
      await sleep(300);
      await h.send('y');
      const ck = quectelChecksum(bytes('ab+++++xy')).toString(16);
      assert.equal(await h.readUntil('OK\r\n', 10_000), `\r\n+QFUPL: 9,${ck}\r\n\r\nOK\r\n`);
      assert.deepEqual(h.sim.files('UFS').get('plus.bin'), bytes('ab+++++xy'));
    }));

  it('treats bytes after the declared size as the next command', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      await h.send('AT+QFUPL="x.txt",5,5\r');
      await h.readUntil('\r\nCONNECT\r\n');
      await h.send('helloAT+QFLST="x.txt"\r');
      assert.equal(
        await h.readUntil(/QFLST[^]*OK\r\n$/),
        `\r\n+QFUPL: 5,${quectelChecksum(bytes('hello')).toString(16)}\r\n\r\nOK\r\n` +
          '\r\n+QFLST: "x.txt",5\r\n\r\nOK\r\n',
      );
    }));

  it('keeps RAM: files apart and lists them with their prefix', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      assert.match(await qfupl(h, 'RAM:xtra2.bin', bytes('xyz1')), /\+QFUPL: 4,/);
      assert.equal(await h.at('AT+QFLST="*"'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFLST="RAM:*"'), '\r\n+QFLST: "RAM:xtra2.bin",4\r\n\r\nOK\r\n');
      assert.deepEqual(h.sim.files('RAM').get('xtra2.bin'), bytes('xyz1'));
      assert.equal(await qfupl(h, 'NVRAM:CA0', bytes('x')), '\r\n+CME ERROR: 406\r\n');
    }));

  it('writes the state file atomically after each change, with bytes, size and checksum', () =>
    withModemHarness({}, async (h) => {
      await h.at('ATE0');
      const hdr = bytes('-----BEGIN CERTIFICATE-----\r');
      await qfupl(h, 'ca.pem', hdr);
      await h.at('AT+QSSLCFG="cacert",1,"UFS:ca.pem"');
      const raw = JSON.parse(readFileSync(h.stateFile, 'utf8'));
      assert.deepEqual(raw.storage.UFS['ca.pem'], {
        size: 28,
        checksum: '6c53',
        base64: Buffer.from(hdr).toString('base64'),
      });
      const state = readModemState(h.stateFile);
      assert.equal(state.model, 'EC25');
      assert.deepEqual(state.files.UFS.get('ca.pem'), hdr);
      assert.deepEqual(state.ssl.get(1)?.get('cacert'), { value: 'UFS:ca.pem', quoted: true });
      await h.at('AT+QFDEL="ca.pem"');
      assert.equal(readModemState(h.stateFile).files.UFS.size, 0);
    }));
});

describe('modem simulator: file handles and storage queries', () => {
  it('opens, truncates and refuses handles as the file manual describes', () =>
    withModemHarness({ personality: 'exposed' }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+QFOPEN="nope.txt",2'), '\r\n+CME ERROR: 405\r\n');
      await qfupl(h, 'f.txt', bytes('hello'));
      assert.equal(await h.at('AT+QFOPEN="f.txt",0'), '\r\n+QFOPEN: 1\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QFOPEN="f.txt",0'), '\r\n+CME ERROR: 426\r\n');
      assert.equal(await h.at('AT+QFCLOSE=1'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFOPEN="f.txt",1'), '\r\n+QFOPEN: 2\r\n\r\nOK\r\n');
      assert.equal(h.sim.files('UFS').get('f.txt')?.length, 0, 'mode 1 truncates');
      assert.equal(await h.at('AT+QFREAD=9'), '\r\n+CME ERROR: 416\r\n');
      assert.equal(await h.at('AT+QFOPEN="new.txt"'), '\r\n+QFOPEN: 3\r\n\r\nOK\r\n');
      assert.equal(h.sim.files('UFS').has('new.txt'), true, 'mode 0 creates');
    }));

  it('reports RAM space and the QFUPL test form', () =>
    withModemHarness({ ramCapacityBytes: 1000, ufsCapacityBytes: 5000 }, async (h) => {
      await h.at('ATE0');
      await qfupl(h, 'RAM:r', new Uint8Array(100));
      assert.equal(await h.at('AT+QFLDS="RAM"'), '\r\n+QFLDS: 900,1000\r\n\r\nOK\r\n');
      assert.equal(
        await h.at('AT+QFUPL=?'),
        '\r\n+QFUPL: <filename>,(1-5000),(1-65535),(0,1)\r\n\r\nOK\r\n',
      );
      assert.equal(await h.at('AT+QFLDS="NVRAM"'), '\r\n+CME ERROR: 425\r\n');
    }));
});

describe('modem simulator: reading files back and debug access', () => {
  it('hardened firmware refuses QFREAD and QFDWL with 410 and the debug commands', () =>
    withModemHarness({ personality: 'hardened' }, async (h) => {
      await h.at('ATE0');
      await qfupl(h, 'key.pem', bytes('SECRET-KEY'));
      assert.equal(await h.at('AT+QFOPEN="key.pem",2'), '\r\n+QFOPEN: 1\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QFREAD=1,10'), '\r\n+CME ERROR: 410\r\n');
      assert.equal(await h.at('AT+QFCLOSE=1'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFCLOSE=1'), '\r\n+CME ERROR: 416\r\n');
      assert.equal(await h.at('AT+QFDWL="key.pem"'), '\r\n+CME ERROR: 410\r\n');
      assert.equal(await h.at('AT+QADBKEY?'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QLINUXCMD=?'), '\r\nERROR\r\n');
      assert.equal(
        await h.at('AT+QCFG="usbcfg"'),
        '\r\n+QCFG: "usbcfg",0x2C7C,0x0125,1,1,1,1,1,0,0\r\n\r\nOK\r\n',
      );
    }));

  it('exposed firmware gives the file back, an ADB salt, adb=1 and QLINUXCMD', () =>
    withModemHarness({ personality: 'exposed', seed: 7 }, async (h) => {
      await h.at('ATE0');
      await qfupl(h, 'key.pem', bytes('SECRET-KEY'));
      assert.equal(await h.at('AT+QFOPEN="key.pem",2'), '\r\n+QFOPEN: 1\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QFREAD=1,6'), '\r\nCONNECT 6\r\nSECRET\r\nOK\r\n');
      assert.equal(await h.at('AT+QFREAD=1,100'), '\r\nCONNECT 4\r\n-KEY\r\nOK\r\n');
      assert.equal(await h.at('AT+QFREAD=1,100'), '\r\nCONNECT 0\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QFCLOSE=1'), '\r\nOK\r\n');
      const ck = quectelChecksum(bytes('SECRET-KEY')).toString(16);
      assert.equal(
        await h.at('AT+QFDWL="key.pem"'),
        `\r\nCONNECT\r\nSECRET-KEY\r\n+QFDWL: 10,${ck}\r\n\r\nOK\r\n`,
      );
      const salt = await h.at('AT+QADBKEY?');
      assert.match(salt, /^\r\n\+QADBKEY: \d{8}\r\n\r\nOK\r\n$/);
      assert.equal(await h.at('AT+QADBKEY?'), salt, 'the salt is stable');
      assert.match(await h.at('AT+QLINUXCMD=?'), /^\r\n\+QLINUXCMD: .*\r\n\r\nOK\r\n$/);
      assert.match(await h.at('AT+QCFG="usbcfg"'), /,1,0\r\n\r\nOK\r\n$/);
    }));

  it('the 2G M66 has none of the LTE debug commands', () =>
    withModemHarness({ model: 'M66', personality: 'exposed' }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+QADBKEY?'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QCFG="usbcfg"'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QLINUXCMD=?'), '\r\nERROR\r\n');
    }));
});
