import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AuditGateError,
  isReadOnlyCommand,
  READ_ONLY_COMMAND_SHAPES,
  ReadOnlyCommandGate,
} from '../../main/audit/index.ts';
import { openModem, startSimBoard } from './helpers.ts';

/** Every command the audit itself builds, in every form it builds them. */
const allowed = [
  'ATI',
  'AT+QGMR',
  'AT+QLINUXCMD=?',
  'AT+QADBKEY?',
  'AT+QCFG="usbcfg"',
  'AT+QFOPEN="UFS:klck1.pem",2',
  'AT+QFOPEN="klck0.pem",2',
  'AT+QFOPEN="RAM:key.pem",2',
  'AT+QFREAD=1,16',
  'AT+QFREAD=65535,1',
  'AT+QFCLOSE=1',
  'AT+QSECREAD="NVRAM:CK0"',
  'AT+QSECREAD="RAM:k"',
  'AT+QSSLCFG="seclevel",0',
  'AT+QSSLCFG="sslversion",5',
  'AT+QSSLCFG="cacert",1',
  'AT+QSSLCFG="clientcert",2',
  'AT+QSSLCFG="clientkey",3',
];

/** Set and exec forms, and near misses that would change the module or read more. */
const refused = [
  // the debug paths' set forms: unlock ADB, switch it on, run a shell command
  'AT+QADBKEY="WUkkFzFSXLsuRM8t"',
  'AT+QCFG="usbcfg",0x2C7C,0x125,1,1,1,1,1,1,0',
  'AT+QCFG="usbcfg",',
  'AT+QLINUXCMD="cat /etc/passwd"',
  'AT+QLINUXCMD',
  'AT+QLINUXCMD?',
  'AT+QADBKEY',
  'AT+QADBKEY=?',
  'AT+QCFG="nat"',
  // file writes, deletes, whole-file reads, opens that create or truncate
  'AT+QFOPEN="UFS:klck1.pem",0',
  'AT+QFOPEN="UFS:klck1.pem",1',
  'AT+QFOPEN="UFS:klck1.pem"',
  'AT+QFOPEN="NVRAM:CK0",2',
  'AT+QFREAD=1',
  'AT+QFREAD=1,17',
  'AT+QFREAD=1,1024',
  'AT+QFREAD=1,0',
  'AT+QFWRITE=1,16',
  'AT+QFDWL="UFS:klck1.pem"',
  'AT+QFUPL="UFS:x",10,5,1',
  'AT+QFDEL="*"',
  'AT+QFLST="*"',
  'AT+QSECWRITE="NVRAM:CK0",100,10',
  'AT+QSECDEL="NVRAM:CK0"',
  'AT+QSECREAD="UFS:klck1.pem"',
  // TLS set forms
  'AT+QSSLCFG="seclevel",1,0',
  'AT+QSSLCFG="clientkey",1,"UFS:evil.pem"',
  'AT+QSSLCFG="seclevel",6',
  'AT+QSSLCFG="ignorelocaltime",1',
  // session and module state
  'ATE0',
  'AT+CMEE=1',
  'AT+CFUN=1,1',
  'AT&F',
  'AT',
  '',
  // injection through a file name or trailing bytes
  'AT+QFOPEN="a\rAT+QFDEL="*"",2',
  'AT+QFOPEN="a",2\rAT+QFDEL="*"',
  'AT+QFOPEN="a,b",2',
  'AT+QFOPEN="a"",2',
  'ATI\r',
  'ATI\n',
  'ATI;+QCFG="usbcfg",0x2C7C,0x125,1,1,1,1,1,1,0',
  'ati',
  ' ATI',
  'ATI ',
  'AT+QGMR;&W',
];

describe('read-only command gate', () => {
  it('accepts exactly the read-only shapes the audit builds', () => {
    for (const c of allowed) assert.ok(isReadOnlyCommand(c), c);
  });

  it('refuses every set/exec form and near miss', () => {
    for (const c of refused) assert.equal(isReadOnlyCommand(c), false, JSON.stringify(c));
  });

  it('no accepted line can carry a line break, a second command or a set form (property)', () => {
    const alphabet = fc.constantFrom(
      ...'ATQ+=?",;&\r\n0123456789ILNUXCMDFOPENREADSLGBKYusbcfgseclvtrkyUFS:.p*'.split(''),
    );
    const random = fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''));
    const line = fc.oneof(
      random,
      fc.tuple(fc.constantFrom(...allowed), random).map(([c, x]) => c + x),
      fc.tuple(random, fc.constantFrom(...allowed)).map(([x, c]) => x + c),
    );
    let accepted = 0;
    fc.assert(
      fc.property(line, (s) => {
        if (!isReadOnlyCommand(s)) return;
        accepted++;
        assert.ok(!/[\r\n;&]/.test(s), JSON.stringify(s));
        const shapes = READ_ONLY_COMMAND_SHAPES.filter((x) => x.pattern.test(s));
        assert.equal(shapes.length, 1, JSON.stringify(s));
        assert.ok(!/^AT\+QSSLCFG="[a-z]+",\d,/.test(s) && !/QCFG="usbcfg",/.test(s), s);
      }),
      { numRuns: 20_000 },
    );
    assert.ok(accepted > 100, `the generator reached accepted lines (${accepted})`);
    // A shape-preserving mutation: every allowed command with an extra argument is refused.
    for (const c of allowed) assert.equal(isReadOnlyCommand(`${c},1`), false, `${c},1`);
  });

  it('throws before writing a byte, names only the command, and bounds the data phase', async () => {
    const board = await startSimBoard({ personality: 'exposed' });
    try {
      const modem = await openModem(board);
      try {
        const gate = new ReadOnlyCommandGate(
          modem.engine,
          { port: 'P', slot: 2 },
          { timeoutMs: 2000 },
        );
        gate.beginProbe('adb-enabled');
        const before = board.sim.received().length;
        await assert.rejects(gate.command('AT+QCFG="usbcfg",0x2C7C,0x125,1,1,1,1,1,1,0'), (e) => {
          assert.ok(e instanceof AuditGateError);
          assert.equal(e.commandName, 'AT+QCFG');
          assert.equal(e.probe, 'adb-enabled');
          assert.equal(
            e.message,
            'slot 2 (P) audit probe adb-enabled: refused to send AT+QCFG: not a read-only audit command',
          );
          return true;
        });
        await assert.rejects(gate.command('AT+QADBKEY="WUkkFzFSXLsuRM8t"'), (e) => {
          assert.ok(e instanceof AuditGateError);
          assert.ok(!e.message.includes('WUkk'), 'arguments stay out of the message');
          return true;
        });
        await assert.rejects(gate.command('AT+QFREAD=1,16', 17), AuditGateError);
        await assert.rejects(gate.command('ATI', 1), AuditGateError);
        assert.deepEqual(gate.endProbe(), [], 'refused commands are not recorded as sent');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(board.sim.received().length, before, 'nothing reached the module');
        // The module state the refused command would have changed is untouched.
        assert.match((await gate.command('AT+QCFG="usbcfg"')).lines[0], /,1,0$/);
        const r = await gate.command('ATI');
        assert.deepEqual(r.lines.slice(0, 2), ['Quectel', 'EC25']);
      } finally {
        await modem.close();
      }
    } finally {
      await board.close();
    }
  });
});
