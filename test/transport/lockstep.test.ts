import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { TransportTimeoutError } from '../../main/transport/transport.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';

const A = 0x41;
const N = 0x4e;
const frame = (...bytes: number[]) => Uint8Array.from(bytes);

/** Reads `count` frames of `size` bytes from the device end and answers each as `answer(i)` says. */
async function respond(
  device: SerialTransport,
  count: number,
  size: number,
  answer: (i: number) => Uint8Array | undefined,
): Promise<Uint8Array[]> {
  const seen: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    seen.push(await device.readExact(size, 2000));
    const a = answer(i);
    if (a) await device.write(a);
  }
  return seen;
}

describe('SerialTransport.lockstep over a socat PTY pair', () => {
  let dir: string;
  let pair: PtyPair;
  let host: SerialTransport;
  let device: SerialTransport;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-lockstep-'));
    pair = await createPtyPair(dir, 'l');
    host = await SerialTransport.open({ path: pair.host, baudRate: 115200, parity: 'none' });
    device = await SerialTransport.open({ path: pair.device, baudRate: 115200, parity: 'none' });
  });
  after(async () => {
    await host.close();
    await device.close();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each frame after the previous answer, takes extra answer bytes, and leaves what follows for read()', async () => {
    const device_ = respond(device, 3, 2, (i) =>
      // The third answer carries 4 data bytes, then 2 bytes that belong to nobody's answer.
      i < 2 ? frame(A) : frame(A, 1, 2, 3, 4, 0xee, 0xff),
    );
    const answers = await host.lockstep([frame(1, 1), frame(2, 2), frame(3, 3)], {
      answerBytes: 1,
      more: (soFar, i) => (soFar.length === 1 && soFar[0] === A && i === 2 ? 4 : 0),
      timeoutsMs: [1000, 1000, 1000],
      proceed: ([b]) => b === A,
    });
    assert.deepEqual(
      answers.map((a) => [...a]),
      [[A], [A], [A, 1, 2, 3, 4]],
    );
    assert.deepEqual(
      (await device_).map((f) => [...f]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    );
    assert.deepEqual([...(await host.readExact(2, 1000))], [0xee, 0xff]);
  });

  it('stops at an answer `proceed` refuses and sends no further frame', async () => {
    const device_ = respond(device, 2, 2, (i) => (i === 0 ? frame(A) : frame(N)));
    const answers = await host.lockstep([frame(1, 1), frame(2, 2), frame(3, 3)], {
      answerBytes: 1,
      timeoutsMs: [1000, 1000, 1000],
      proceed: ([b]) => b === A,
    });
    assert.deepEqual(
      answers.map((a) => [...a]),
      [[A], [N]],
    );
    await device_;
    await assert.rejects(
      device.read(16, 150),
      TransportTimeoutError,
      'the third frame stayed home',
    );
  });

  it('tells `answered` of each answer after the next frame is out; a throw there ends the run', async () => {
    const heard: string[] = [];
    const device_ = respond(device, 3, 2, (i) => frame(A, i));
    const answers = await host.lockstep([frame(1, 1), frame(2, 2), frame(3, 3)], {
      answerBytes: 2,
      timeoutsMs: [1000, 1000, 1000],
      proceed: (answer, i) => {
        heard.push(`proceed ${i}`);
        return answer[0] === A;
      },
      answered: (answer, i) => heard.push(`answered ${i}: ${answer[1]}`),
    });
    assert.equal(answers.length, 3);
    assert.deepEqual(heard, [
      'proceed 0',
      'answered 0: 0',
      'proceed 1',
      'answered 1: 1',
      'answered 2: 2',
    ]);
    await device_;

    const failing = respond(device, 2, 2, () => frame(A, 9));
    await assert.rejects(
      host.lockstep([frame(1, 1), frame(2, 2), frame(3, 3)], {
        answerBytes: 2,
        timeoutsMs: [1000, 1000, 1000],
        proceed: () => true,
        answered: (_answer, i) => {
          if (i === 0) throw new Error('progress handler broke');
        },
      }),
      /progress handler broke/,
    );
    // The second frame was already out when the handler threw; nothing after it.
    await failing;
    await assert.rejects(device.read(16, 150), TransportTimeoutError);
    await host.read(64, 200).catch(() => undefined);
  });

  it('times out the stage whose answer does not come, with a typed error', async () => {
    const device_ = respond(device, 2, 2, (i) => (i === 0 ? frame(A) : undefined));
    const started = performance.now();
    await assert.rejects(
      host.lockstep([frame(1, 1), frame(2, 2)], {
        answerBytes: 1,
        timeoutsMs: [1000, 120],
        proceed: ([b]) => b === A,
      }),
      (e: unknown) => e instanceof TransportTimeoutError && /120 ms/.test(e.message),
    );
    assert.ok(performance.now() - started < 1000, 'the second stage had its own, shorter wait');
    await device_;
  });
});
