import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import {
  TransportClosedError,
  TransportError,
  TransportTimeoutError,
} from '../../main/transport/transport.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';

for (const io of ['polled', 'binding'] as const)
  describe(`SerialTransport (${io} I/O) over a socat PTY pair`, () => {
    let dir: string;
    let pair: PtyPair;
    let host: SerialTransport;
    let device: SerialTransport;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'keyline-pty-'));
      pair = await createPtyPair(dir, 'p');
      host = await SerialTransport.open({ path: pair.host, baudRate: 115200, parity: 'none', io });
      device = await SerialTransport.open({
        path: pair.device,
        baudRate: 115200,
        parity: 'none',
        io,
      });
    });
    after(async () => {
      await host.close();
      await device.close();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('carries every byte value unchanged in both directions', async () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await host.write(all);
      assert.deepEqual(await device.readExact(256, 2000), all);
      await device.write(all);
      assert.deepEqual(await host.readExact(256, 2000), all);
    });

    it('keeps writing a burst larger than the line buffers until the far end reads it, in order', async () => {
      // The far end is a bare descriptor nobody reads, so the kernel buffers (and socat's)
      // fill: the host's write must wait (the EAGAIN / writable path), then finish in order
      // once the far end drains.
      const p = await createPtyPair(dir, `burst-${io}`);
      const h = await SerialTransport.open({ path: p.host, baudRate: 115200, parity: 'none', io });
      const fd = openSync(p.device, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
      try {
        const big = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
        const tail = Uint8Array.of(0xaa, 0x55);
        let bigDone = false;
        const writes = Promise.all([h.write(big).then(() => (bigDone = true)), h.write(tail)]);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(bigDone, false, 'a 256 KiB write cannot complete while nobody reads');
        const got = new Uint8Array(big.length + tail.length);
        const chunk = Buffer.alloc(65536);
        let n = 0;
        const deadline = Date.now() + 10_000;
        while (n < got.length && Date.now() < deadline) {
          try {
            const r = readSync(fd, chunk, 0, chunk.length, null);
            got.set(chunk.subarray(0, Math.min(r, got.length - n)), n);
            n += r;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            await new Promise((r) => setTimeout(r, 2));
          }
        }
        await writes;
        assert.equal(n, got.length);
        assert.deepEqual(got.subarray(0, big.length), big);
        assert.deepEqual(got.subarray(big.length), tail, 'a write queued behind it comes after it');
      } finally {
        closeSync(fd);
        await h.close();
        await p.close();
      }
    });

    it('refuses a port that does not exist, naming it', async () => {
      const path = join(dir, 'no-such-port');
      await assert.rejects(
        SerialTransport.open({ path, baudRate: 115200, parity: 'none', io }),
        (e: unknown) =>
          e instanceof TransportError && e.code === 'open-failed' && e.message.includes(path),
      );
    });

    it('times out a read with a typed error', async () => {
      await assert.rejects(host.read(1, 50), TransportTimeoutError);
    });

    it('times a short read out on time after a long one completed', async () => {
      const long = host.read(1, 5000);
      await device.write(Uint8Array.of(7));
      assert.deepEqual([...(await long)], [7]);
      const started = performance.now();
      await assert.rejects(host.read(1, 80), TransportTimeoutError);
      const waited = performance.now() - started;
      assert.ok(waited >= 75 && waited < 1000, `timed out after ${Math.round(waited)} ms`);
    });

    it('reports an unplugged device as closed, promptly', async () => {
      const pending = assert.rejects(host.read(1, 5000), TransportClosedError);
      await pair.close();
      await pending;
      assert.equal(existsSync(pair.host), false, 'socat removes the PTY link when the line drops');
      assert.equal(host.isOpen, false);
      await assert.rejects(
        host.write(Uint8Array.of(1)),
        (e: unknown) => e instanceof TransportError && e.code === 'closed',
      );
    });

    it('reports a hang-up right behind the last bytes as closed, not as a slow device', async () => {
      // node-serialport's poller can miss the HUP behind the last bytes; bytes still in
      // flight when the line drops may be lost, as on a real unplug. Either way the host
      // must end with a closed port, never wait out timeouts forever.
      for (let i = 0; i < 5; i++) {
        const p = await createPtyPair(dir, `hup${i}`);
        const h = await SerialTransport.open({
          path: p.host,
          baudRate: 115200,
          parity: 'none',
          io,
        });
        const d = await SerialTransport.open({
          path: p.device,
          baudRate: 115200,
          parity: 'none',
          io,
        });
        try {
          await d.write(new TextEncoder().encode('OK\r\n'));
          await p.close();
          let err: unknown;
          for (let reads = 0; reads < 10 && err === undefined; reads++) {
            await h.read(64, 300).catch((e: unknown) => (err = e));
          }
          assert.ok(err instanceof TransportClosedError, `got ${String(err)}`);
          assert.equal(h.isOpen, false);
        } finally {
          await h.close();
          await d.close();
        }
      }
    });
  });
