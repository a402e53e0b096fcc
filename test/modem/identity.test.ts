import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ModemCommandError,
  ModemIdentityError,
  ModemUnsupportedError,
  openQuectelModem,
  parseAti,
  parseFinal,
} from '../../main/modem/index.ts';
import { ScriptedDevice } from './helpers/scripted-device.ts';

const ctx = { port: '/dev/test' };

/** Answers the session and identity commands from a table; unknown commands get ERROR. */
function module(answers: Record<string, string>) {
  return async (cmd: string, io: { send(b: string): Promise<void> }) => {
    if (cmd === '') return;
    const a =
      answers[cmd] ?? (cmd === 'ATE0' || cmd === 'AT+CMEE=1' || cmd === 'AT' ? '' : undefined);
    await io.send(
      a === undefined
        ? '\r\nERROR\r\n'
        : `${a ? `\r\n${a.split('|').join('\r\n')}\r\n` : ''}\r\nOK\r\n`,
    );
  };
}

async function open(answers: Record<string, string>) {
  const dev = await ScriptedDevice.start(module(answers));
  const t = await dev.openHost();
  try {
    const m = await openQuectelModem(t, { slot: 2 });
    await m.close();
    return m.identity;
  } finally {
    await t.close();
    await dev.stop();
  }
}

describe('module identification', () => {
  it('parses ATI for each family and names what ATI said for anything else', () => {
    assert.equal(parseAti(['Quectel', 'EG25', 'Revision: EG25GGBR07A08M2G'], ctx).family, 'lte');
    assert.equal(parseAti(['Quectel', 'BG95-M3', 'Revision: BG95M3LAR02A03'], ctx).family, 'lpwa');
    assert.deepEqual(parseAti(['Quectel_Ltd', 'Quectel_MC60', 'Revision: MC60CAR01A10'], ctx), {
      manufacturer: 'Quectel_Ltd',
      model: 'MC60',
      revision: 'MC60CAR01A10',
      family: '2g',
    });
    assert.throws(
      () => parseAti(['Quectel', 'EG800Q', 'Revision: EG800QEULAR03A01M08'], ctx),
      (e: unknown) =>
        e instanceof ModemUnsupportedError &&
        /ATI said "Quectel \/ EG800Q \/ Revision: EG800QEULAR03A01M08"/.test(e.message),
    );
    assert.throws(
      () => parseAti(['SIMCOM_Ltd', 'SIMCOM_SIM800L', 'Revision:1418B04SIM800L24'], ctx),
      ModemUnsupportedError,
    );
    assert.throws(() => parseAti(['Quectel', 'EC25'], ctx), ModemIdentityError);
  });

  it('maps verbose (CMEE=2) and numeric errors to text', () => {
    assert.deepEqual(parseFinal('+CME ERROR: SIM not inserted'), {
      kind: 'error',
      text: '+CME ERROR: SIM not inserted',
      errorKind: 'CME',
      code: undefined,
      meaning: 'SIM not inserted',
    });
    const cms = parseFinal('+CMS ERROR: 310');
    assert.equal(cms?.kind === 'error' && cms.meaning, 'SIM not inserted');
    const cme = parseFinal('+CME ERROR: 10');
    assert.equal(cme?.kind === 'error' && cme.meaning, 'SIM not inserted');
    const odd = parseFinal('+CME ERROR: 4010');
    assert.equal(odd?.kind === 'error' && odd.meaning, 'unrecognised error code 4010');
  });

  it('2G: bare ICCID with hex letters, firmware from ATI when QGMR is refused', async () => {
    const id = await open({
      ATI: 'Quectel_Ltd|Quectel_MC60|Revision: MC60CAR01A10',
      'AT+GSN': '861359030299596',
      'AT+QCCID': '898604B2012290748345',
    });
    assert.deepEqual(id, {
      manufacturer: 'Quectel_Ltd',
      model: 'MC60',
      family: '2g',
      revision: 'MC60CAR01A10',
      firmware: 'MC60CAR01A10',
      imei: '861359030299596',
      iccid: '898604B2012290748345',
    });
  });

  it('an unknown module fails the open with what ATI said, and the port is closed', async () => {
    const dev = await ScriptedDevice.start(
      module({ ATI: 'Quectel|EG800Q|Revision: EG800QEULAR03A01M08' }),
    );
    const t = await dev.openHost();
    try {
      await assert.rejects(openQuectelModem(t, { slot: 2 }), (e: unknown) => {
        assert.ok(e instanceof ModemUnsupportedError);
        assert.match(
          e.message,
          /slot 2 .*identity: unsupported module: ATI said "Quectel \/ EG800Q/,
        );
        return true;
      });
      assert.equal(t.isOpen, false);
    } finally {
      await dev.stop();
    }
  });

  it('no SIM: the ICCID error reads as such', async () => {
    const dev = await ScriptedDevice.start(async (cmd, io) => {
      if (cmd === 'AT+QCCID') return io.send('\r\n+CME ERROR: 10\r\n');
      return module({
        ATI: 'Quectel|EC25|Revision: EC25EFAR06A06M4G',
        'AT+GSN': '861359030299596',
      })(cmd, io);
    });
    const t = await dev.openHost();
    try {
      const err = await openQuectelModem(t).catch((e: unknown) => e);
      assert.ok(err instanceof ModemCommandError);
      assert.match(err.message, /AT\+QCCID → \+CME ERROR: 10 \(SIM not inserted\)/);
    } finally {
      await t.close();
      await dev.stop();
    }
  });
});
