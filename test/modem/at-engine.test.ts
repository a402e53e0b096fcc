import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { AtEngine } from '../../main/modem/at-engine.ts';
import {
  ModemClosedError,
  ModemCommandError,
  ModemError,
  ModemLineOverflowError,
  ModemProtocolError,
  ModemResyncError,
  ModemTimeoutError,
} from '../../main/modem/errors.ts';
import { ScriptedDevice, type DeviceIo, type Script } from './helpers/scripted-device.ts';

const fast = { defaultTimeoutMs: 3000, resyncAttempts: 3, resyncAttemptMs: 500, slot: 7 };

/** A device that answers AT with OK and defers everything else to `more`. */
function device(more: (cmd: string, io: DeviceIo) => Promise<boolean> | boolean): Script {
  return async (cmd, io) => {
    if (await more(cmd, io)) return;
    if (cmd === 'AT' || cmd === '') await io.send(cmd === 'AT' ? '\r\nOK\r\n' : '');
    else await io.send('\r\nERROR\r\n');
  };
}

describe('AtEngine over a PTY', () => {
  const open: Array<{ dev: ScriptedDevice; engine: AtEngine }> = [];
  async function setup(script: Script, opts = fast) {
    const dev = await ScriptedDevice.start(script);
    const engine = new AtEngine(await dev.openHost(), opts);
    open.push({ dev, engine });
    return { dev, engine };
  }
  afterEach(async () => {
    for (const { dev, engine } of open.splice(0)) {
      await engine.close();
      await dev.stop();
    }
  });
  after(() => {});

  it('returns info lines, drops the echo and the final OK', async () => {
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (cmd !== 'ATI') return false;
        await io.send('ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n');
        return true;
      }),
    );
    const r = await engine.command('ATI');
    assert.deepEqual(r.lines, ['Quectel', 'EC25', 'Revision: EC25EFAR06A06M4G']);
    assert.equal(r.final, 'OK');
    assert.equal(engine.echoSeen, true);
  });

  it('routes URCs to listeners, also between answer lines, but not the answer prefix', async () => {
    const { engine, dev } = await setup(
      device(async (cmd, io) => {
        if (cmd === 'AT+QFLST="*"') {
          await io.send(
            '\r\n+QFLST: "a.pem",10\r\n\r\n+QIURC: "pdpdeact",1\r\n\r\n+QFLST: "b.pem",20\r\n',
          );
          await io.send('\r\nRDY\r\n\r\nOK\r\n');
          return true;
        }
        if (cmd === 'AT+CPIN?') {
          await io.send('\r\n+CPIN: READY\r\n\r\nOK\r\n');
          return true;
        }
        return false;
      }),
    );
    const urcs: string[] = [];
    const off = engine.onUrc((l) => urcs.push(l));
    const r = await engine.command('AT+QFLST="*"');
    assert.deepEqual(r.lines, ['+QFLST: "a.pem",10', '+QFLST: "b.pem",20']);
    assert.deepEqual(urcs, ['+QIURC: "pdpdeact",1', 'RDY']);
    const pin = await engine.command('AT+CPIN?');
    assert.deepEqual(pin.lines, ['+CPIN: READY']);
    // With nothing in flight a URC still arrives, promptly.
    const got = new Promise<string>((resolve) => engine.onUrc(resolve));
    await dev.send('\r\n+QSSLURC: "recv",1\r\n');
    assert.equal(await got, '+QSSLURC: "recv",1');
    off();
  });

  it('maps +CME ERROR to a typed, readable error with port, slot, step and command', async () => {
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (!cmd.startsWith('AT+QFDEL')) return false;
        await io.send('\r\n+CME ERROR: 405\r\n');
        return true;
      }),
    );
    const err = await engine
      .command('AT+QFDEL="x.pem"', { step: 'delete' })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ModemCommandError);
    assert.equal(err.code, 405);
    assert.equal(err.text, 'file not found');
    assert.equal(err.kind, 'CME');
    assert.equal(err.command, 'AT+QFDEL="x.pem"');
    assert.equal(err.step, 'delete');
    assert.equal(err.slot, 7);
    assert.match(
      err.message,
      /slot 7 .* delete: AT\+QFDEL="x.pem" → \+CME ERROR: 405 \(file not found\)/,
    );
  });

  it('times out a stalled command, resyncs, and the next command works', async () => {
    const { engine, dev } = await setup(device((cmd) => cmd === 'AT+STALL'));
    const t0 = Date.now();
    await assert.rejects(engine.command('AT+STALL', { timeoutMs: 300 }), ModemTimeoutError);
    assert.ok(Date.now() - t0 < 10_000);
    const i = dev.commands.indexOf('AT+STALL');
    assert.deepEqual(dev.commands.slice(i + 1, i + 3), ['', 'AT'], 'resync sends \\r then AT');
    assert.equal((await engine.command('AT')).final, 'OK');
  });

  it('gives up a resync after the bounded attempts, and tries again on the next command', async () => {
    let alive = false;
    const { engine, dev } = await setup(device((cmd) => !alive && cmd !== ''));
    const t0 = Date.now();
    await assert.rejects(engine.resync(), (e: unknown) => {
      assert.ok(e instanceof ModemResyncError);
      assert.equal(e.attempts, 3);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(dev.commands.filter((c) => c === 'AT').length, 3);
    alive = true;
    const before = dev.commands.length;
    assert.equal((await engine.command('AT')).final, 'OK');
    assert.deepEqual(
      dev.commands.slice(before),
      ['', 'AT', 'AT'],
      'resync first, then the command',
    );
  });

  it('fails on a garbage line, resyncs, and recovers', async () => {
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (cmd !== 'AT+NOISE') return false;
        await io.send(Uint8Array.of(0x0d, 0x0a, 0x4f, 0x00, 0xfe, 0x4b, 0x0d, 0x0a));
        return true;
      }),
    );
    const err = await engine.command('AT+NOISE').catch((e: unknown) => e);
    assert.ok(err instanceof ModemProtocolError);
    assert.equal(err.reason, 'garbage');
    assert.equal((await engine.command('AT')).final, 'OK');
  });

  it('caps line length: an endless line is a typed overflow, then recovery', async () => {
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (cmd !== 'AT+FLOOD') return false;
        await io.send('\r\n' + 'x'.repeat(20_000) + '\r\nOK\r\n');
        return true;
      }),
      { ...fast, maxLineLength: 1024 } as typeof fast,
    );
    await assert.rejects(engine.command('AT+FLOOD'), ModemLineOverflowError);
    assert.equal((await engine.command('AT')).final, 'OK');
  });

  it('uploads with ackmode: never more than one block ahead of the acks', async () => {
    const data = Uint8Array.from({ length: 2500 }, (_, i) => (i * 7) & 0xff);
    let received: Uint8Array | undefined;
    let aheadOfAck = 0;
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (!cmd.startsWith('AT+QFUPL=')) return false;
        await io.send('\r\nCONNECT\r\n');
        const parts: Uint8Array[] = [];
        for (let left = 2500; left > 0;) {
          const n = Math.min(1024, left);
          parts.push(await io.readData(n));
          left -= n;
          if (n === 1024) {
            await io.settle(150);
            aheadOfAck = Math.max(aheadOfAck, io.pendingBytes());
            await io.send('A');
          }
        }
        received = new Uint8Array(Buffer.concat(parts));
        await io.send('\r\n+QFUPL: 2500,1234\r\n\r\nOK\r\n');
        return true;
      }),
    );
    const progress: number[] = [];
    const r = await engine.sendData('AT+QFUPL="UFS:t.bin",2500,5,1', data, {
      ackEvery: 1024,
      timeoutMs: 3000,
      onProgress: (sent) => progress.push(sent),
    });
    assert.deepEqual(received, data);
    assert.equal(aheadOfAck, 0, 'host sent data before the module acked the previous block');
    assert.deepEqual(r.lines, ['+QFUPL: 2500,1234']);
    assert.deepEqual(progress, [1024, 2048, 2500]);
  });

  it('stops sending when the module ends an upload early, and returns its result', async () => {
    let checked!: (leaked: number) => void;
    const leaked = new Promise<number>((resolve) => (checked = resolve));
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (!cmd.startsWith('AT+QFUPL=')) return false;
        await io.send('\r\nCONNECT\r\n');
        await io.readData(1024);
        await io.send('\r\n+QFUPL: 1024,abcd\r\n\r\nOK\r\n');
        await io.settle(300);
        checked(io.pendingBytes());
        return true;
      }),
    );
    const r = await engine.sendData(
      'AT+QFUPL="UFS:t.bin",3000,5,1',
      new Uint8Array(3000).fill(0x41),
      { ackEvery: 1024, timeoutMs: 3000 },
    );
    assert.deepEqual(r.lines, ['+QFUPL: 1024,abcd']);
    assert.equal(
      await leaked,
      0,
      'no data byte may follow the result: it would be read as a command',
    );
    assert.equal((await engine.command('AT')).final, 'OK');
  });

  it('waits for the > prompt and takes SEND OK as success', async () => {
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (!cmd.startsWith('AT+QSSLSEND=')) return false;
        await io.send('\r\n> ');
        const d = await io.readData(5);
        await io.send(
          new TextDecoder().decode(d) === 'hello' ? '\r\nSEND OK\r\n' : '\r\nSEND FAIL\r\n',
        );
        return true;
      }),
    );
    const r = await engine.sendData('AT+QSSLSEND=1,5', new TextEncoder().encode('hello'), {
      prompt: '>',
      timeoutMs: 3000,
    });
    assert.equal(r.final, 'SEND OK');
  });

  it('reads a CONNECT <n> data phase byte-exact, even when it looks like lines', async () => {
    const payload = Uint8Array.of(0x0d, 0x0a, 0x4f, 0x4b, 0x0d, 0x0a, 0x00, 0xff);
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (!cmd.startsWith('AT+QFREAD=')) return false;
        // CR and LF of the CONNECT line arrive apart: the LF must not become data.
        await io.send('\r\nCONNECT 8\r');
        await new Promise((r) => setTimeout(r, 50));
        await io.send('\n');
        await io.send(payload);
        await io.send('\r\nOK\r\n');
        return true;
      }),
    );
    const r = await engine.command('AT+QFREAD=1,8', { data: {} });
    assert.deepEqual(r.data, payload);
    // Without the data option CONNECT is a protocol error, not a hang.
    await assert.rejects(engine.command('AT+QFREAD=1,8'), ModemProtocolError);
  });

  it('queues commands: one in flight, answers matched in call order', async () => {
    const { engine, dev } = await setup(
      device(async (cmd, io) => {
        const m = /^AT\+ECHO=(\d+)$/.exec(cmd);
        if (!m) return false;
        await new Promise((r) => setTimeout(r, 60 - Number(m[1]) * 10));
        await io.send(`\r\n+ECHO: ${m[1]}\r\n\r\nOK\r\n`);
        return true;
      }),
    );
    const rs = await Promise.all([1, 2, 3, 4].map((n) => engine.command(`AT+ECHO=${n}`)));
    assert.deepEqual(
      rs.map((r) => r.lines[0]),
      ['+ECHO: 1', '+ECHO: 2', '+ECHO: 3', '+ECHO: 4'],
    );
    assert.deepEqual(
      dev.commands.filter((c) => c.startsWith('AT+ECHO')),
      ['AT+ECHO=1', 'AT+ECHO=2', 'AT+ECHO=3', 'AT+ECHO=4'],
    );
  });

  it('reports an unplug mid-command as ModemClosedError, promptly, and stays closed', async () => {
    const { engine, dev } = await setup(device((cmd) => cmd === 'AT+SLOW'));
    const pending = engine.command('AT+SLOW', { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await dev.unplug();
    await assert.rejects(pending, ModemClosedError);
    assert.ok(Date.now() - t0 < 5000, 'closed error took too long');
    assert.equal(engine.isOpen, false);
    await assert.rejects(engine.command('AT'), ModemClosedError);
  });

  it('honours an abort signal and recovers on the next command', async () => {
    const { engine } = await setup(device((cmd) => cmd === 'AT+SLOW'));
    const ac = new AbortController();
    const pending = engine.command('AT+SLOW', { timeoutMs: 20_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('operator cancelled')), 100);
    await assert.rejects(pending, /operator cancelled/);
    assert.equal((await engine.command('AT')).final, 'OK');
  });

  it('property: any answer bytes end in a result or a typed ModemError, never a hang', async () => {
    let answer = new Uint8Array(0);
    const { engine } = await setup(
      device(async (cmd, io) => {
        if (cmd !== 'AT+FUZZ') return false;
        await io.send(answer);
        return true;
      }),
      {
        ...fast,
        defaultTimeoutMs: 400,
        resyncAttempts: 4,
        resyncAttemptMs: 1000,
        maxLineLength: 256,
      } as typeof fast,
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .array(
          fc.constantFrom(
            '\r\n',
            'OK',
            'ERROR',
            '+CME ERROR: ',
            '407',
            'CONNECT',
            'A',
            '>',
            '\x00',
            'RDY',
            'x'.repeat(300),
          ),
          {
            maxLength: 12,
          },
        )
        .map((a) => Uint8Array.from(a.join(''), (c) => c.charCodeAt(0))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        answer = b;
        const t0 = Date.now();
        try {
          await engine.command('AT+FUZZ');
        } catch (e) {
          assert.ok(e instanceof ModemError, `untyped failure: ${String(e)}`);
        }
        assert.ok(Date.now() - t0 < 15_000, 'took too long');
      }),
      { numRuns: 12 },
    );
    answer = new Uint8Array(0);
    assert.equal((await engine.command('AT', { timeoutMs: 5000 })).final, 'OK');
  });
});
