import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../main/cli/index.ts';
import type { CliIO } from '../../main/cli/io.ts';
import { BootloaderSimulator } from '../../sim/stm32/index.ts';
import { createPtyPair } from '../../sim/pty.ts';
import { realModem, startBoard, testIccid, testImei } from './helpers/sim-modem.ts';

const run = promisify(execFile);
const bin = new URL('../../bin/keyline.mjs', import.meta.url).pathname;
const skip = realModem ? 'needs the simulator' : false;

function captureIO(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        add(chunk.toString());
        cb();
      },
    });
  return {
    io: {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      env: {},
      signal: new AbortController().signal,
    },
    out: () => out,
    err: () => err,
  };
}

describe('keyline probe', { skip }, () => {
  it('prints the modem IDs as JSON through the real CLI entry point', async () => {
    const board = await startBoard({ model: 'EC25' });
    try {
      await board.transport.close(); // the CLI opens the port itself
      const { stdout } = await run(
        process.execPath,
        [bin, 'probe', '--modem', board.pair!.host, '--json'],
        {
          timeout: 60_000,
        },
      );
      assert.deepEqual(JSON.parse(stdout), {
        ok: true,
        modem: {
          port: board.pair!.host,
          manufacturer: 'Quectel',
          model: 'EC25',
          family: 'lte',
          revision: 'EC25EFAR06A06M4G',
          firmware: 'EC25EFAR06A06M4G_01.001.01.001',
          imei: testImei,
          iccid: testIccid,
        },
      });
    } finally {
      await board.close();
    }
  });

  it('prints a 2G module and an STM32 for people, MCU over 8N1 with --parity none', async () => {
    const board = await startBoard({ model: 'M66' });
    const dir = mkdtempSync(join(tmpdir(), 'keyline-probe-'));
    const mcuPair = await createPtyPair(dir, 'mcu');
    const uid = '0123456789abcdef01234567';
    const mcuSim = await BootloaderSimulator.start({
      devicePath: mcuPair.device,
      family: 'F4',
      uid,
      baud: 115_200,
      stateFile: join(dir, 'flash.bin'),
      latencyScale: 0,
    });
    try {
      await board.transport.close();
      const c = captureIO();
      const code = await main(
        ['probe', '--modem', board.pair!.host, '--mcu', mcuPair.host, '--parity', 'none'],
        c.io,
      );
      assert.equal(code, 0, c.err());
      assert.match(c.out(), /^modem .*: Quectel_Ltd M66 \(2G\)$/m);
      assert.match(c.out(), new RegExp(`IMEI +${testImei}`));
      assert.match(c.out(), new RegExp(`ICCID +${testIccid}`));
      assert.match(c.out(), new RegExp(`UID +${uid}`));
    } finally {
      await mcuSim.stop();
      await mcuPair.close();
      await board.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with one line and a non-zero exit on bad usage or a missing port', async () => {
    for (const [argv, code, msg] of [
      [['probe'], 2, /give --modem PORT/],
      [
        ['probe', '--modem', '/dev/null', '--parity', 'odd', '--mcu', 'x'],
        2,
        /--parity must be none or even/,
      ],
      [['probe', '--modem', '/nonexistent/tty'], 1, /\/nonexistent\/tty: cannot open/],
      [['probe', '--modme', 'x'], 2, /unknown option --modme/],
    ] as const) {
      const c = captureIO();
      assert.equal(await main([...argv], c.io), code, argv.join(' '));
      assert.match(c.err(), msg);
      assert.equal(c.err().trim().split('\n').length, 1);
    }
  });
});
