import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeMcuUid } from '../../certs/hardware-ids.ts';
import { findDevice, probeMcu } from '../../main/mcu/index.ts';

// Opt-in: KEYLINE_TEST_MCU=/dev/ttyUSB0 points this at a real STM32 held in its ROM
// bootloader (BOOT0 high), 8E1 as on the line. Read-only: nothing is erased or written.
const port = process.env.KEYLINE_TEST_MCU;

describe('real STM32 over a UART', () => {
  it(
    'identifies the board read-only',
    { skip: port ? false : 'set KEYLINE_TEST_MCU to a port' },
    async () => {
      const baudRate = Number(process.env.KEYLINE_TEST_MCU_BAUD ?? 115200);
      const r = await probeMcu(port ?? '', { baudRate, parity: 'even' });
      assert.ok(findDevice(r.pid), `PID 0x${r.pid.toString(16)} is in the family table`);
      assert.equal(normalizeMcuUid(r.mcuUid), r.mcuUid);
      assert.ok(r.flashKiB > 0 && r.flashKiB <= 4096);
      assert.match(r.bootloaderVersion, /^\d+\.\d+$/);
    },
  );
});
