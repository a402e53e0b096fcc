import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ModemSimError,
  ModemSimulator,
  ModemStateFileError,
  readModemState,
  type ModemSimOptions,
} from '../../sim/modem/index.ts';
import { emptyModemState, writeModemState } from '../../sim/modem/state-file.ts';

describe('modem simulator: options and state file validation', () => {
  let dir: string;
  let base: ModemSimOptions;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-modem-opts-'));
    base = {
      devicePath: join(dir, 'no-such-pty'),
      model: 'EC25',
      imei: '490154203237518',
      iccid: '89860436101892671308',
      baud: 115200,
      stateFile: join(dir, 'state.json'),
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects bad identity, baud and faults with a typed error naming the problem', async () => {
    await assert.rejects(ModemSimulator.start({ ...base, imei: '12345' }), /IMEI must be 15/);
    await assert.rejects(ModemSimulator.start({ ...base, iccid: '89xx' }), ModemSimError);
    await assert.rejects(ModemSimulator.start({ ...base, baud: 0 }), /invalid baud/);
    await assert.rejects(
      ModemSimulator.start({ ...base, faults: [{ kind: 'stall', command: 'QFUPL' }] }),
      /fault 1 \(stall\): command must start with AT/,
    );
    await assert.rejects(
      ModemSimulator.start({
        ...base,
        faults: [{ kind: 'corrupt-upload', offset: 1, occurrence: 0 }],
      }),
      /occurrence must be an integer/,
    );
  });

  it('refuses a state file that belongs to another model, and a port that is not there', async () => {
    await assert.rejects(ModemSimulator.start(base), /cannot open the port/);
    assert.equal(readModemState(base.stateFile).model, 'EC25', 'state written before the port');
    const m66 = join(dir, 'm66.json');
    await writeModemState(m66, emptyModemState('M66', base.imei, base.iccid, 'M66FAR02A03'));
    await assert.rejects(
      ModemSimulator.start({ ...base, stateFile: m66 }),
      /belongs to model M66, not EC25/,
    );
  });

  it('readModemState names what is wrong with a damaged file', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    assert.throws(() => readModemState(bad), ModemStateFileError);
    writeFileSync(bad, JSON.stringify({ format: 'other' }));
    assert.throws(() => readModemState(bad), /not a keyline-modem-sim-state\/1 file/);
  });
});
