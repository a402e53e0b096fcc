import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootloaderError } from '../../main/mcu/index.ts';
import { ModemCommandError, ModemTimeoutError } from '../../main/modem/index.ts';
import { SlotTimeoutError, StepRefusedError, describeFailure } from '../../main/pipeline/errors.ts';
import { TransportClosedError, TransportTimeoutError } from '../../main/transport/transport.ts';

test('driver errors keep what the device answered', () => {
  const modem = new ModemCommandError(
    { port: '/dev/ttyUSB0', slot: 3, step: 'upload:clientkey', command: 'AT+QFUPL' },
    '+CME ERROR: 409',
    'CME',
    409,
    'write failed',
  );
  const d = describeFailure(modem);
  assert.equal(d.deviceAnswered, '+CME ERROR: 409');
  assert.match(d.reason, /AT\+QFUPL → \+CME ERROR: 409 \(write failed\)/);
  assert.equal(d.code, 'modem-command');

  const timeout = new ModemTimeoutError({ port: 'p', command: 'ATI' }, 'answer', 5000, [
    'Quectel',
    'EC25',
  ]);
  assert.equal(describeFailure(timeout).deviceAnswered, 'Quectel | EC25');

  const boot = new BootloaderError({
    port: 'p',
    step: 'write',
    address: 0x08000000,
    detail: 'NACK',
    deviceAnswered: '1f',
  });
  const b = describeFailure(boot);
  assert.equal(b.deviceAnswered, '1f');
  assert.equal(b.code, 'bootloader');
});

test('pipeline and transport errors get stable codes', () => {
  assert.deepEqual(describeFailure(new StepRefusedError('intent', 'cap', 'cap reached')), {
    code: 'cap',
    reason: 'cap reached',
  });
  assert.equal(describeFailure(new SlotTimeoutError('1', 'mcu-write', 100)).code, 'timeout');
  assert.equal(describeFailure(new TransportTimeoutError('p', 10)).code, 'timeout');
  assert.equal(describeFailure(new TransportClosedError('p')).code, 'unplugged');
  assert.deepEqual(describeFailure('weird'), { code: 'error', reason: 'weird' });
});

test('a cancelled batch says so, whatever the driver threw', () => {
  const ac = new AbortController();
  ac.abort(new Error('operator pressed stop'));
  assert.deepEqual(describeFailure(new Error('port closed'), ac.signal), {
    code: 'cancelled',
    reason: 'cancelled: operator pressed stop',
  });
});
