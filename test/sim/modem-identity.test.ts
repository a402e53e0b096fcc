import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withModemHarness as withModem } from '../../sim/modem/harness.ts';

describe('modem simulator: session and identity', () => {
  it('echoes commands with their CR until ATE0, then answers without echo', () =>
    withModem({}, async (h) => {
      assert.equal(await h.at('AT'), 'AT\r\r\nOK\r\n');
      assert.equal(await h.at('ATE0'), 'ATE0\r\r\nOK\r\n');
      assert.equal(await h.at('AT'), '\r\nOK\r\n');
      assert.equal(await h.at('ATE1'), '\r\nOK\r\n');
      assert.equal(await h.at('AT'), 'AT\r\r\nOK\r\n');
    }));

  it('echoes as characters arrive, honours backspace, and accepts CR LF endings', () =>
    withModem({}, async (h) => {
      await h.send('AT+GS');
      assert.equal(await h.readUntil('AT+GS'), 'AT+GS');
      await h.send('X\bN\r\n');
      assert.equal(await h.readUntil('OK\r\n'), 'X\bN\r\r\n490154203237518\r\n\r\nOK\r\n');
      await h.send('ATE0\r\n');
      await h.readUntil('OK\r\n');
      assert.equal(await h.at('AT'), '\r\nOK\r\n');
    }));

  it('answers the EC25 identity commands framed as real modules do', () =>
    withModem({ imei: '866425030123456', iccid: '8901260886258128535F' }, async (h) => {
      await h.at('ATE0');
      assert.equal(
        await h.at('ATI'),
        '\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n',
      );
      assert.equal(await h.at('AT+GSN'), '\r\n866425030123456\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+CGSN'), '\r\n866425030123456\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QCCID'), '\r\n+QCCID: 8901260886258128535F\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QGMR'), '\r\nEC25EFAR06A06M4G_01.001.01.001\r\n\r\nOK\r\n');
    }));

  it('answers as a BG96 with its own model line and a given firmware', () =>
    withModem({ model: 'BG96', firmware: 'BG96MAR04A02M1G' }, async (h) => {
      await h.at('ATE0');
      assert.equal(
        await h.at('ATI'),
        '\r\nQuectel\r\nBG96\r\nRevision: BG96MAR04A02M1G\r\n\r\nOK\r\n',
      );
    }));

  it('answers as an M66: Quectel_Ltd / Quectel_M66 and a bare ICCID', () =>
    withModem({ model: 'M66', iccid: '89840480000381157157' }, async (h) => {
      await h.at('ATE0');
      assert.equal(
        await h.at('ATI'),
        '\r\nQuectel_Ltd\r\nQuectel_M66\r\nRevision: M66FAR02A03\r\n\r\nOK\r\n',
      );
      assert.equal(await h.at('AT+QCCID'), '\r\n89840480000381157157\r\n\r\nOK\r\n');
    }));

  it('answers ERROR to unknown and malformed commands and ignores non-AT lines', () =>
    withModem({}, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+NOSUCH'), '\r\nERROR\r\n');
      assert.equal(await h.at('AT+QFDEL="unterminated'), '\r\nERROR\r\n');
      await h.send('hello\r');
      assert.equal(await h.drain(200), '', 'a line without AT gets no answer');
      assert.equal(await h.at('AT'), '\r\nOK\r\n');
    }));

  it('formats errors per AT+CMEE: plain, numeric, verbose for standard codes only', () =>
    withModem({}, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+CMEE?'), '\r\n+CMEE: 1\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+QFDEL="missing.pem"'), '\r\n+CME ERROR: 405\r\n');
      assert.equal(await h.at('AT+CMEE=2'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFDEL="missing.pem"'), '\r\n+CME ERROR: 405\r\n');
      assert.equal(await h.at('AT+CMEE=7'), '\r\n+CME ERROR: incorrect parameters\r\n');
      assert.equal(await h.at('AT+CMEE=0'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+QFDEL="missing.pem"'), '\r\nERROR\r\n');
    }));

  it('sends injected URCs between answers and between a command and its answer', () =>
    withModem({}, async (h) => {
      await h.at('ATE0');
      h.sim.injectUrc('+CPIN: READY');
      assert.equal(await h.readUntil('\r\n+CPIN: READY\r\n'), '\r\n+CPIN: READY\r\n');
      h.sim.injectUrc('RDY', { beforeAnswerTo: 'AT+QCCID' });
      assert.equal(await h.at('AT'), '\r\nOK\r\n', 'held back for a different command');
      assert.equal(
        await h.at('AT+QCCID'),
        '\r\nRDY\r\n\r\n+QCCID: 89860436101892671308\r\n\r\nOK\r\n',
      );
      await h.at('ATE1');
      h.sim.injectUrc('+QIURC: "pdpdeact",1', { beforeAnswerTo: 'ATI' });
      assert.match(await h.at('ATI'), /^ATI\r\r\n\+QIURC: "pdpdeact",1\r\n\r\nQuectel\r\n/);
    }));

  it('records every byte the station sent, in order', () =>
    withModem({}, async (h) => {
      await h.at('ATE0');
      await h.at('AT+GSN');
      assert.equal(Buffer.from(h.sim.received()).toString('latin1'), 'ATE0\rAT+GSN\r');
      const s = h.sim.stats();
      assert.equal(s.bytesIn, 12);
      assert.equal(s.commands, 2);
      assert.ok(s.bytesOut >= 'ATE0\r\r\nOK\r\n\r\n490154203237518\r\n\r\nOK\r\n'.length);
    }));

  it('answers the session housekeeping commands a probe may send', () =>
    withModem({ baud: 921_600 }, async (h) => {
      await h.at('ATE0');
      assert.equal(await h.at('AT+IPR?'), '\r\n+IPR: 921600\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+IPR=921600'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+IPR=9600'), '\r\n+CME ERROR: 4\r\n');
      assert.equal(await h.at('AT+IFC=2,2'), '\r\nOK\r\n');
      assert.equal(await h.at('AT+IFC?'), '\r\n+IFC: 2,2\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+CIMI'), '\r\n001011892671308\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT+CPIN?'), '\r\n+CPIN: READY\r\n\r\nOK\r\n');
      assert.equal(await h.at('AT&W'), '\r\nOK\r\n');
    }));

  it('logs known commands but only the length of unrecognised lines', async () => {
    const lines: string[] = [];
    await withModem({ log: (l) => lines.push(l) }, async (h) => {
      await h.at('ATE0');
      await h.at('ATMIIBSecretBase64Line');
      await h.at('AT+GSN');
    });
    assert.ok(lines.includes('< ATE0'));
    assert.ok(lines.includes('< AT+GSN'));
    assert.ok(lines.includes('< (unrecognised line, 22 chars)'));
    assert.equal(
      lines.some((l) => l.includes('Secret')),
      false,
    );
  });
});
