import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { alive, childrenOf } from '../helpers/processes.ts';
import { ACK, BootHost } from './stm32-host.ts';

const root = new URL('../..', import.meta.url).pathname;

function keyline(args: string[]): ChildProcess {
  return spawn(process.execPath, ['bin/keyline.mjs', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
}

function exited(child: ChildProcess, timeoutMs = 60_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('keyline sim did not exit'));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Collects stdout lines until `n` have arrived (or the process ends / time runs out). */
function lines(child: ChildProcess, n: number, timeoutMs = 60_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`only got: ${buf} / ${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const got = buf.split('\n').filter((l) => l.trim() !== '');
      if (got.length >= n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited early: ${buf} / ${err}`));
    });
  });
}

interface SlotLine {
  slot: number;
  modem: string;
  mcu: string;
  mcuLink: string;
  modemLink: string;
  imei: string;
  iccid: string;
  mcuUid: string;
  modemModel: string;
  mcuFamily: string;
}

describe('keyline sim (CLI)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-cli-sim-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one JSON line per slot, serves the ports, and cleans up on SIGTERM', async () => {
    const state = join(dir, 'state');
    const child = keyline([
      'sim',
      '--slots',
      '2',
      '--state',
      state,
      '--mcu-family',
      'G0',
      '--latency-scale',
      '0',
    ]);
    let socats: number[] = [];
    try {
      const out = (await lines(child, 2)).map((l) => JSON.parse(l) as SlotLine);
      assert.deepEqual(
        out.map((s) => s.slot),
        [1, 2],
      );
      for (const s of out) {
        assert.match(s.modem, /^\/dev\/pts\/\d+$/);
        assert.match(s.mcu, /^\/dev\/pts\/\d+$/);
        assert.match(s.imei, /^\d{15}$/);
        assert.match(s.iccid, /^89\d{18}$/);
        assert.match(s.mcuUid, /^[0-9a-f]{24}$/);
        assert.equal(s.mcuFamily, 'G0');
        assert.equal(s.modemModel, 'EC25');
      }
      socats = childrenOf(child.pid ?? -1, 'socat');
      assert.equal(socats.length, 4);
      // The printed pts really is a G0 bootloader with the printed UID.
      const line = await SerialTransport.open({
        path: out[1].mcu,
        baudRate: 115200,
        parity: 'none',
      });
      try {
        const host = new BootHost(line);
        assert.equal(await host.sync(), ACK);
        const uid = await host.read(0x1fff7590, 12);
        assert.ok(uid instanceof Uint8Array);
        assert.equal(Buffer.from(uid).toString('hex'), out[1].mcuUid);
      } finally {
        await line.close();
      }
      child.kill('SIGTERM');
      assert.equal(await exited(child), 0);
      assert.ok(
        socats.every((p) => !alive(p)),
        'no socat survives',
      );
      const left = readdirSync(state);
      assert.deepEqual(
        left.filter((f) => f.endsWith('.host') || f.endsWith('.dev')),
        [],
        'PTY links removed',
      );
      assert.ok(existsSync(join(state, 'slot2-mcu.bin')), '--state keeps the boards');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a bad fault spec with one line naming the token', async () => {
    const child = keyline(['sim', '--slots', '1', '--faults', '1:mcu.nack-write=2;3:mcu.frob=1']);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exited(child);
    assert.notEqual(code, 0);
    const msg = err.trim().split('\n');
    assert.equal(msg.length, 1, err);
    assert.match(msg[0], /"3:mcu\.frob=1"/);
  });

  it('refuses a missing --slots and an unknown family', async () => {
    for (const args of [['sim'], ['sim', '--slots', '1', '--mcu-family', 'F9']]) {
      const child = keyline(args);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      assert.equal(await exited(child), 2);
      assert.match(err, /--slots|--mcu-family/);
    }
  });
});
