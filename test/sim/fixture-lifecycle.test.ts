import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normalizeIccid, normalizeImei, normalizeMcuUid } from '../../certs/hardware-ids.ts';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { TransportClosedError } from '../../main/transport/transport.ts';
import { boardIds, startFixture, type Fixture } from '../../sim/index.ts';
import { alive, childrenOf } from '../helpers/processes.ts';
import { ACK, BootHost, T } from './stm32-host.ts';

/** socat processes whose parent is this test process. */
function socatChildren(): number[] {
  return childrenOf(process.pid, 'socat');
}

async function modemAnswer(port: string, command: string): Promise<string> {
  const line = await SerialTransport.open({ path: port, baudRate: 115200, parity: 'none' });
  try {
    await line.write(new TextEncoder().encode(`${command}\r`));
    let text = '';
    while (!/\r\n(OK|ERROR)\r\n/.test(text))
      text += Buffer.from(await line.read(256, T)).toString('latin1');
    return text;
  } finally {
    await line.close();
  }
}

async function uidOverBootloader(port: string, address: number): Promise<string> {
  const line = await SerialTransport.open({ path: port, baudRate: 115200, parity: 'none' });
  try {
    const host = new BootHost(line);
    assert.equal(await host.sync(), ACK);
    const data = await host.read(address, 12);
    assert.ok(data instanceof Uint8Array);
    return Buffer.from(data).toString('hex');
  } finally {
    await line.close();
  }
}

describe('virtual fixture', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-fixture-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('derives valid, distinct board IDs from (seed, slot), the same on every call', () => {
    const seen = { imei: new Set<string>(), iccid: new Set<string>(), uid: new Set<string>() };
    for (let slot = 1; slot <= 500; slot++) {
      const ids = boardIds(3, slot);
      assert.deepEqual(boardIds(3, slot), ids);
      assert.equal(normalizeImei(ids.imei), ids.imei);
      assert.equal(normalizeIccid(ids.iccid), ids.iccid);
      assert.match(ids.iccid, /^89\d{18}$/);
      assert.equal(normalizeMcuUid(ids.mcuUid), ids.mcuUid);
      seen.imei.add(ids.imei);
      seen.iccid.add(ids.iccid);
      seen.uid.add(ids.mcuUid);
    }
    assert.deepEqual([seen.imei.size, seen.iccid.size, seen.uid.size], [500, 500, 500]);
    assert.notEqual(boardIds(4, 1).mcuUid, boardIds(3, 1).mcuUid);
  });

  it('gives each slot valid, distinct IDs that both simulators answer with', async () => {
    const fx = await startFixture({
      slots: 3,
      dir: join(dir, 'a'),
      latencyScale: 0,
      mcuFamily: (s) => (s === 2 ? 'L4' : 'F4'),
      modemModel: (s) => (s === 3 ? 'BG96' : 'EC25'),
    });
    try {
      assert.equal(fx.slots.length, 3);
      assert.equal(new Set(fx.slots.map((s) => s.imei)).size, 3);
      assert.equal(new Set(fx.slots.map((s) => s.iccid)).size, 3);
      assert.equal(new Set(fx.slots.map((s) => s.mcuUid)).size, 3);
      for (const s of fx.slots) {
        assert.equal(normalizeImei(s.imei), s.imei);
        assert.equal(normalizeIccid(s.iccid), s.iccid);
        assert.equal(normalizeMcuUid(s.mcuUid), s.mcuUid);
        assert.match(s.modemPts, /^\/dev\/pts\/\d+$/);
        assert.match(s.mcuPts, /^\/dev\/pts\/\d+$/);
      }
      assert.equal(fx.slot(2).mcuFamily, 'L4');
      assert.equal(fx.slot(3).modemModel, 'BG96');
      assert.throws(() => fx.slot(4), /no such slot/);
      const s2 = fx.slot(2);
      assert.match(await modemAnswer(s2.modemPort, 'AT+GSN'), new RegExp(`\\r\\n${s2.imei}\\r\\n`));
      assert.equal(await uidOverBootloader(s2.mcuPort, 0x1fff7590), s2.mcuUid);
      assert.equal(await uidOverBootloader(fx.slot(1).mcuPts, 0x1fff7a10), fx.slot(1).mcuUid);
    } finally {
      await fx.stop();
    }
  });

  it('a rerun with the same seed and state dir is the same boards with the same flash', async () => {
    const d = join(dir, 'rerun');
    const first = await startFixture({ slots: 2, dir: d, seed: 7, latencyScale: 0 });
    const ids = first.slots.map((s) => [s.imei, s.iccid, s.mcuUid]);
    try {
      const line = await SerialTransport.open({
        path: first.slot(2).mcuPort,
        baudRate: 115200,
        parity: 'none',
      });
      const host = new BootHost(line);
      assert.equal(await host.sync(), ACK);
      assert.equal(await host.write(0x0800_c000, Uint8Array.from([0xde, 0xad, 0xbe, 0xef])), 'ok');
      await line.close();
    } finally {
      await first.stop();
    }
    assert.ok(existsSync(join(d, 'slot2-mcu.bin')), 'a caller-given dir keeps the state');
    // A killed run can leave links behind, even ones that resolve to live devices.
    symlinkSync('/dev/ptmx', join(d, 'slot1-mcu.host'));
    symlinkSync('/dev/null', join(d, 'slot1-mcu.dev'));
    const again = await startFixture({ slots: 2, dir: d, seed: 7, latencyScale: 0 });
    try {
      assert.deepEqual(
        again.slots.map((s) => [s.imei, s.iccid, s.mcuUid]),
        ids,
      );
      assert.match(again.slot(1).mcuPts, /^\/dev\/pts\/\d+$/);
      assert.equal(await uidOverBootloader(again.slot(1).mcuPort, 0x1fff7a10), ids[0][2]);
      assert.deepEqual([...again.slot(2).mcu.readFlash(0x0800_c000, 4)], [0xde, 0xad, 0xbe, 0xef]);
    } finally {
      await again.stop();
    }
    const other = await startFixture({ slots: 1, seed: 8, latencyScale: 0 });
    try {
      assert.notEqual(other.slot(1).imei, ids[0][0], 'another seed, other boards');
    } finally {
      await other.stop();
    }
  });

  it('hands each slot its own faults from a spec string', async () => {
    const fx = await startFixture({
      slots: 2,
      latencyScale: 0,
      faults: '1:mcu.nack-write=1',
    });
    try {
      for (const [n, expected] of [
        [1, 'data'],
        [2, 'ok'],
      ] as const) {
        const line = await SerialTransport.open({
          path: fx.slot(n).mcuPort,
          baudRate: 115200,
          parity: 'none',
        });
        const host = new BootHost(line);
        assert.equal(await host.sync(), ACK);
        assert.equal(await host.write(0x0800_0000, Uint8Array.from([1, 2, 3, 4])), expected);
        await line.close();
      }
    } finally {
      await fx.stop();
    }
    await assert.rejects(startFixture({ slots: 1, faults: '1:mcu.bogus=1' }), /bogus/);
    assert.deepEqual(socatChildren(), [], 'a refused spec starts nothing');
  });

  it("wires the modem unplug fault to the slot's PTY: the station sees its port close", async () => {
    const fx = await startFixture({
      slots: 2,
      latencyScale: 0,
      faults: '2:modem.unplug=AT+GSN;1:mcu.unplug=get-id',
    });
    try {
      const s = fx.slot(2);
      const line = await SerialTransport.open({
        path: s.modemPort,
        baudRate: 115200,
        parity: 'none',
      });
      try {
        await line.write(new TextEncoder().encode('AT+GSN\r'));
        await assert.rejects(
          (async () => {
            for (;;) await line.read(256, T);
          })(),
          TransportClosedError,
        );
      } finally {
        await line.close();
      }
      assert.equal(existsSync(s.modemPort), false, 'the unplugged line is gone');
      assert.ok(existsSync(s.mcuPort), 'the MCU line of that slot stays');
      assert.match(await modemAnswer(fx.slot(1).modemPort, 'AT+GSN'), /OK/);
      // The MCU unplug fault drops slot 1's bootloader line the same way.
      const mcuLine = await SerialTransport.open({
        path: fx.slot(1).mcuPort,
        baudRate: 115200,
        parity: 'none',
      });
      try {
        const host = new BootHost(mcuLine);
        assert.equal(await host.sync(), ACK);
        await host.send([0x02, 0xfd]);
        await assert.rejects(host.byte(), TransportClosedError);
      } finally {
        await mcuLine.close();
      }
      assert.equal(existsSync(fx.slot(1).mcuPort), false);
    } finally {
      await fx.stop();
    }
  });

  it('starting and stopping 32 slots leaves no socat process and no PTY link', async () => {
    let fx: Fixture | undefined = await startFixture({ slots: 32, latencyScale: 0 });
    const fxDir = fx.dir;
    const pids = fx.slots.flatMap((s) => s.socatPids);
    const links = fx.slots.flatMap((s) => [s.modemPort, s.mcuPort]);
    try {
      assert.equal(pids.length, 64);
      assert.equal(new Set(fx.slots.map((s) => s.mcuUid)).size, 32);
      assert.ok(links.every((l) => existsSync(l)));
      assert.deepEqual(socatChildren().sort(), [...pids].sort());
      await fx.stop();
      fx = undefined;
      assert.deepEqual(socatChildren(), []);
      assert.ok(
        pids.every((p) => !alive(p)),
        'every socat exited',
      );
      assert.ok(
        links.every((l) => !existsSync(l)),
        'every PTY link is gone',
      );
      assert.equal(existsSync(fxDir), false, 'the fixture removes the temp dir it made');
    } finally {
      await fx?.stop();
    }
  });
});
