import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quectelChecksum, readModemState } from '../../sim/modem/index.ts';
import { startModemHarness, withModemHarness, type ModemHarness } from '../../sim/modem/harness.ts';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = (d: Uint8Array) => quectelChecksum(d).toString(16);

async function qsecwrite(h: ModemHarness, name: string, data: Uint8Array): Promise<string> {
  await h.send(`AT+QSECWRITE="${name}",${data.length},10\r`);
  const head = await h.readUntil(/\r\n(CONNECT|ERROR|\+CME ERROR: \d+)\r\n$/);
  if (!head.endsWith('CONNECT\r\n')) return head;
  await h.send(data);
  return h.readUntil(/\r\n(OK|ERROR)\r\n$/);
}

describe('modem simulator: 2G secure storage (M66)', () => {
  it('writes NVRAM: and RAM:, verifies by checksum, deletes', () =>
    withModemHarness({ model: 'M66' }, async (h) => {
      await h.at('ATE0');
      const ca = bytes('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      assert.equal(
        await qsecwrite(h, 'NVRAM:CA0', ca),
        `\r\n+QSECWRITE: ${ca.length},${hex(ca)}\r\n\r\nOK\r\n`,
      );
      assert.equal(
        await h.at('AT+QSECREAD="NVRAM:CA0"'),
        `\r\n+QSECREAD: 1,${hex(ca)}\r\n\r\nOK\r\n`,
      );
      assert.equal(await h.at('AT+QSECREAD="NVRAM:CK0"'), '\r\n+QSECREAD: 0,0\r\n\r\nOK\r\n');
      assert.deepEqual(h.sim.files('NVRAM').get('CA0'), ca);
      const replaced = bytes('second version');
      assert.match(await qsecwrite(h, 'NVRAM:CA0', replaced), /\+QSECWRITE: 14,/);
      assert.deepEqual(h.sim.files('NVRAM').get('CA0'), replaced, 'QSECWRITE overwrites');
      assert.match(await qsecwrite(h, 'RAM:cacert.pem', ca), /\+QSECWRITE: \d+,/);
      assert.deepEqual(h.sim.files('RAM').get('cacert.pem'), ca);
      assert.equal(await h.at('AT+QSECDEL="NVRAM:CA0"'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QSECDEL="NVRAM:CA0"'), '\r\nERROR\r\n');
      assert.equal(h.sim.files('NVRAM').has('CA0'), false);
    }));

  it('refuses names without NVRAM:/RAM:, unknown NVRAM slots and oversize NVRAM writes', () =>
    withModemHarness({ model: 'M66' }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+QSECWRITE="CA0",10,10'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QSECWRITE="NVRAM:cert.pem",10,10'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QSECWRITE="NVRAM:CK0",2018,10'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QFUPL="NVRAM:CK0",10,10'), '\r\n+CME ERROR: 406\r\n');
      assert.equal(h.sim.files('NVRAM').size, 0);
    }));

  it('keeps NVRAM and loses RAM on a power cycle, which also resets echo and CMEE and sends RDY', async () => {
    const h = await startModemHarness({ model: 'M66' });
    try {
      await h.at('ATE0');
      await h.at('AT+CMEE=2');
      const key = bytes('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n');
      await qsecwrite(h, 'NVRAM:CK0', key);
      await qsecwrite(h, 'RAM:tmp.pem', bytes('volatile'));
      await h.sim.powerCycle();
      assert.equal(await h.readUntil('\r\nRDY\r\n'), '\r\nRDY\r\n');
      assert.deepEqual(h.sim.files('NVRAM').get('CK0'), key);
      assert.equal(h.sim.files('RAM').size, 0);
      assert.equal(
        await h.at('AT+CMEE?'),
        'AT+CMEE?\r\r\n+CMEE: 1\r\n\r\nOK\r\n',
        'echo is back on',
      );
      await h.at('ATE0');
      assert.equal(await h.at('AT+QSECREAD="RAM:tmp.pem"'), '\r\n+QSECREAD: 0,0\r\n\r\nOK\r\n');
      assert.equal(
        await h.at('AT+QSECREAD="NVRAM:CK0"'),
        `\r\n+QSECREAD: 1,${hex(key)}\r\n\r\nOK\r\n`,
      );
      const state = readModemState(h.stateFile);
      assert.equal(state.powerCycles, 1);
      assert.equal(state.files.RAM.size, 0);
      assert.deepEqual(state.files.NVRAM.get('CK0'), key);
    } finally {
      await h.close();
    }
  });

  it('loses what the station sends while the module boots', () =>
    withModemHarness({ model: 'M66', latency: { bootMs: 4000 } }, async (h) => {
      await h.at('ATE0');
      const cycling = h.sim.powerCycle();
      await h.send('AT+QSECDEL="NVRAM:CA0"\r');
      await cycling;
      assert.equal(await h.readUntil('\r\nRDY\r\n'), '\r\nRDY\r\n');
      assert.equal(await h.drain(200), '', 'no echo and no answer to the lost command');
      assert.match(Buffer.from(h.sim.received()).toString('latin1'), /QSECDEL/, 'still recorded');
      assert.equal(await h.at('AT'), 'AT\r\r\nOK\r\n');
    }));

  it('reloads UFS, NVRAM and TLS settings from the state file on the next start', async () => {
    const first = await startModemHarness({ model: 'EC25' });
    const dir = first.dir;
    try {
      await first.at('ATE0');
      await first.send('AT+QFUPL="ca.pem",4,5\r');
      await first.readUntil('CONNECT\r\n');
      await first.send('abcd');
      await first.readUntil('OK\r\n');
      await first.send('AT+QFUPL="RAM:t",2,5\r');
      await first.readUntil('CONNECT\r\n');
      await first.send('zz');
      await first.readUntil('OK\r\n');
      await first.at('AT+QSSLCFG="seclevel",2,2');
      await first.sim.stop();
      const second = await startModemHarness({ dir, stateFile: first.stateFile });
      try {
        assert.deepEqual(second.sim.files('UFS').get('ca.pem'), bytes('abcd'));
        assert.equal(second.sim.files('RAM').size, 0, 'a start is a power-on');
        assert.equal(second.sim.sslConfig(2).seclevel, '2');
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });

  it('LTE and LPWA modules refuse AT+QSECWRITE', async () => {
    for (const model of ['EC25', 'BG96'] as const)
      await withModemHarness({ model }, async (h) => {
        await h.at('ATE0');
        assert.equal(await h.at('AT+QSECWRITE="NVRAM:CA0",10,10'), '\r\nERROR\r\n', model);
        assert.equal(await h.at('AT+QSECREAD="NVRAM:CA0"'), '\r\nERROR\r\n', model);
      });
  });
});

describe('modem simulator: TLS context (AT+QSSLCFG)', () => {
  it('sets and queries an LTE context as the station writes it', () =>
    withModemHarness({ model: 'EC25' }, async (h) => {
      await h.at('ATE0');
      for (const cmd of [
        'AT+QSSLCFG="cacert",1,"UFS:cacert.pem"',
        'AT+QSSLCFG="clientcert",1,"UFS:client.pem"',
        'AT+QSSLCFG="clientkey",1,"UFS:user_key.pem"',
        'AT+QSSLCFG="seclevel",1,2',
        'AT+QSSLCFG="sslversion",1,3',
        'AT+QSSLCFG="ciphersuite",1,0xFFFF',
        'AT+QSSLCFG="ignorelocaltime",1,1',
      ])
        assert.equal(await h.at(cmd), '\r\nOK\r\n', cmd);
      assert.equal(
        await h.at('AT+QSSLCFG="clientkey",1'),
        '\r\n+QSSLCFG: "clientkey",1,"UFS:user_key.pem"\r\n\r\nOK\r\n',
      );
      assert.equal(
        await h.at('AT+QSSLCFG="seclevel",1'),
        '\r\n+QSSLCFG: "seclevel",1,2\r\n\r\nOK\r\n',
      );
      assert.equal(
        await h.at('AT+QSSLCFG="ciphersuite",1'),
        '\r\n+QSSLCFG: "ciphersuite",1,0xFFFF\r\n\r\nOK\r\n',
      );
      assert.equal(
        await h.at('AT+QSSLCFG="seclevel",0'),
        '\r\n+QSSLCFG: "seclevel",0,0\r\n\r\nOK\r\n',
      );
      assert.deepEqual(
        { ...h.sim.sslConfig(1) },
        {
          sslversion: '3',
          ciphersuite: '0xFFFF',
          seclevel: '2',
          cacert: 'UFS:cacert.pem',
          clientcert: 'UFS:client.pem',
          clientkey: 'UFS:user_key.pem',
          ignorelocaltime: '1',
          negotiatetime: '300',
          sni: '0',
        },
      );
      assert.equal(await h.at('AT+QSSLCFG="seclevel",6,2'), '\r\nERROR\r\n', 'context 0-5');
      assert.equal(await h.at('AT+QSSLCFG="seclevel",1,3'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QSSLCFG="SECLEVEL",1,2'), '\r\nERROR\r\n', 'lower-case only');
      assert.equal(await h.at('AT+QSSLCFG="ignorertctime",1'), '\r\nERROR\r\n', '2G keyword');
      assert.equal(
        await h.at('AT+QSSLCFG="cacert",1,cacert.pem'),
        '\r\nERROR\r\n',
        'path unquoted',
      );
    }));

  it('takes the 2G form: NVRAM paths and ignorertctime without a context', () =>
    withModemHarness({ model: 'M66' }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+QSSLCFG="cacert",0,"NVRAM:CA0"'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QSSLCFG="ciphersuite",0,"0xFFFF"'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QSSLCFG="ignorertctime",1'), '\r\nOK\r\n');
      assert.equal(
        await h.at('AT+QSSLCFG="ignorertctime"'),
        '\r\n+QSSLCFG: "ignorertctime",1\r\n\r\nOK\r\n',
      );
      assert.equal(
        await h.at('AT+QSSLCFG="ciphersuite",0'),
        '\r\n+QSSLCFG: "ciphersuite",0,"0xFFFF"\r\n\r\nOK\r\n',
      );
      assert.equal(await h.at('AT+QSSLCFG="ignorelocaltime",0,1'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QSSLCFG="ignorertctime",0,1'), '\r\nERROR\r\n');
      assert.equal(h.sim.sslConfig(0).ignorertctime, '1');
      assert.equal(h.sim.sslConfig(3).ignorertctime, '1', 'module-wide');
      assert.equal(h.sim.sslConfig(0).cacert, 'NVRAM:CA0');
    }));
});
