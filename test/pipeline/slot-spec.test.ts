import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotSpecError, parseSlotSpecs } from '../../main/pipeline/slot-spec.ts';

test('slots are numbered by position unless named', () => {
  assert.deepEqual(
    parseSlotSpecs([
      'modem=/dev/ttyUSB0,mcu=/dev/ttyUSB1',
      'mcu=/dev/ttyS3,modem=/dev/ttyS2,name=left',
    ]),
    [
      { slot: '1', modemPort: '/dev/ttyUSB0', mcuPort: '/dev/ttyUSB1' },
      { slot: 'left', modemPort: '/dev/ttyS2', mcuPort: '/dev/ttyS3' },
    ],
  );
});

test('bad specs are refused with the reason', () => {
  const cases: Array<[string[], RegExp]> = [
    [['modem=/a'], /missing mcu=PORT/],
    [['mcu=/a'], /missing modem=PORT/],
    [['modem=/a,mcu=/b,baud=9600'], /unknown key "baud"/],
    [['modem=/a,mcu=/b,modem=/c'], /"modem" given twice/],
    [['modem=/a,mcu='], /"mcu" is empty/],
    [['/dev/ttyUSB0'], /is not key=value/],
    [['modem=/a,mcu=/a'], /same port/],
    [['modem=/a,mcu=/b', 'modem=/a,mcu=/c'], /port \/a used by two slots/],
    [['modem=/a,mcu=/b,name=x', 'modem=/c,mcu=/d,name=x'], /slot name x used by two slots/],
    [['modem=/a,mcu=/b,name=has space'], /name "has space"/],
  ];
  for (const [specs, re] of cases)
    assert.throws(
      () => parseSlotSpecs(specs),
      (e: unknown) => e instanceof SlotSpecError && re.test(e.message),
      specs.join(' '),
    );
});
