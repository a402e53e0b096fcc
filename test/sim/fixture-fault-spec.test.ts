import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultSpecError, parseFaultSpec } from '../../sim/faults.ts';

describe('--faults spec parser', () => {
  it('parses the example from the issue into per-slot modem and MCU faults', () => {
    const plan = parseFaultSpec(
      '2:modem.stall=AT+QFUPL;3:mcu.nack-write=2;4:modem.cme=AT+QSSLCFG/407;5:modem.unplug=AT+QFUPL@600',
    );
    assert.deepEqual(plan.forSlot(1), { modem: [], mcu: [] });
    assert.deepEqual(plan.forSlot(2).modem, [{ kind: 'stall', command: 'AT+QFUPL' }]);
    assert.deepEqual(plan.forSlot(3).mcu, [{ kind: 'nack-write', block: 2 }]);
    assert.deepEqual(plan.forSlot(4).modem, [{ kind: 'error', command: 'AT+QSSLCFG', cme: 407 }]);
    assert.deepEqual(plan.forSlot(5).modem, [
      { kind: 'unplug', command: 'AT+QFUPL', afterBytes: 600 },
    ]);
  });

  it('parses every kind, occurrences, slot lists, ranges and *', () => {
    const plan = parseFaultSpec(
      [
        '*:mcu.slow-erase=2.5',
        '1,3-4:modem.error=AT+QFDEL#2',
        '1:modem.corrupt-upload=100#3',
        '1:modem.drop-upload=0',
        '1:modem.unplug=AT+QFUPL',
        '2:mcu.nack-write=3+',
        '2:mcu.corrupt-ack=extended-erase#2',
        '2:mcu.stall=5',
        '2:mcu.stall=read#3',
        '2:mcu.corrupt-read=7#2',
        '2:mcu.drop-read=0',
        '2:mcu.unplug=write@100#3',
        '2:mcu.unplug=get-id',
        '',
      ].join(' ; '),
    );
    assert.deepEqual(plan.forSlot(1), {
      modem: [
        { kind: 'error', command: 'AT+QFDEL', occurrence: 2 },
        { kind: 'corrupt-upload', offset: 100, occurrence: 3 },
        { kind: 'drop-upload', offset: 0 },
        { kind: 'unplug', command: 'AT+QFUPL' },
      ],
      mcu: [{ kind: 'slow-erase', factor: 2.5 }],
    });
    assert.deepEqual(plan.forSlot(2).mcu, [
      { kind: 'slow-erase', factor: 2.5 },
      { kind: 'nack-write', block: 3, always: true },
      { kind: 'corrupt-ack', step: 'extended-erase', occurrence: 2 },
      { kind: 'stall', occurrence: 5 },
      { kind: 'stall', step: 'read', occurrence: 3 },
      { kind: 'corrupt-read', offset: 7, occurrence: 2 },
      { kind: 'drop-read', offset: 0 },
      { kind: 'unplug', step: 'write', afterBytes: 100, occurrence: 3 },
      { kind: 'unplug', step: 'get-id' },
    ]);
    assert.deepEqual(plan.forSlot(4).modem, [
      { kind: 'error', command: 'AT+QFDEL', occurrence: 2 },
    ]);
    assert.deepEqual(plan.forSlot(5).modem, []);
    assert.deepEqual(parseFaultSpec('  ').entries, []);
    assert.deepEqual(parseFaultSpec(' 2 : mcu.stall = read #2 ').forSlot(2).mcu, [
      { kind: 'stall', step: 'read', occurrence: 2 },
    ]);
  });

  const bad: [string, RegExp][] = [
    ['modem.stall=AT+QFUPL', /expected "<slots>:/],
    ['x:modem.stall=AT+QFUPL', /slot "x"/],
    ['0:modem.stall=AT+QFUPL', /slot must be at least 1/],
    ['4-2:mcu.stall=1', /backwards/],
    ['1:radio.stall=AT', /target must be "modem" or "mcu"/],
    ['1:modem', /missing fault kind/],
    ['1:modem.explode=AT', /unknown modem fault "explode"/],
    ['1:mcu.explode=1', /unknown mcu fault "explode"/],
    ['1:modem.stall', /stall needs "=<value>"/],
    ['1:modem.stall=QFUPL', /not an AT command/],
    ['1:modem.cme=AT+QFUPL', /cme needs/],
    ['1:modem.cme=AT+QFUPL/x', /CME code must be a whole number/],
    ['1:mcu.nack-write=0', /write block must be at least 1/],
    ['1:mcu.nack-write=two', /write block must be a whole number/],
    ['1:mcu.corrupt-ack=flash', /unknown bootloader step "flash"/],
    ['1:mcu.slow-erase=0', /positive number/],
    ['1:mcu.slow-erase=fast', /positive number/],
    ['1:mcu.stall=3#2', /drop #n/],
    ['1:mcu.corrupt-read=-1', /byte offset/],
    ['1:mcu.unplug=read@5', /applies to write only/],
    ['1:mcu.stall=sync', /"sync" is not a command here/],
    ['1:mcu.unplug=write@0', /byte count must be at least 1/],
    ['1:modem.stall=AT+QFUPL#0', /occurrence must be at least 1/],
  ];
  for (const [spec, msg] of bad) {
    it(`rejects "${spec}" naming the token`, () => {
      assert.throws(
        () => parseFaultSpec(`1:mcu.stall=1;${spec}`),
        (e: unknown) =>
          e instanceof FaultSpecError &&
          e.token === spec &&
          e.message.includes(`"${spec}"`) &&
          msg.test(e.message),
      );
    });
  }
});
