import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { TransportClosedError, TransportTimeoutError } from '../../main/transport/transport.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';

describe('SerialTransport over a socat PTY pair', () => {
  let dir: string;
  let pair: PtyPair;
  let host: SerialTransport;
  let device: SerialTransport;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyline-pty-'));
    pair = await createPtyPair(dir, 'p');
    host = await SerialTransport.open({ path: pair.host, baudRate: 115200, parity: 'none' });
    device = await SerialTransport.open({ path: pair.device, baudRate: 115200, parity: 'none' });
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

  it('times out a read with a typed error', async () => {
    await assert.rejects(host.read(1, 50), TransportTimeoutError);
  });

  it('reports an unplugged device as closed, promptly', async () => {
    const pending = assert.rejects(host.read(1, 5000), TransportClosedError);
    await pair.close();
    await pending;
    assert.equal(existsSync(pair.host), false, 'socat removes the PTY link when the line drops');
  });

  it('reports a hang-up right behind the last bytes as closed, not as a slow device', async () => {
    // node-serialport's poller can miss the HUP behind the last bytes; bytes still in
    // flight when the line drops may be lost, as on a real unplug. Either way the host
    // must end with a closed port, never wait out timeouts forever.
    for (let i = 0; i < 5; i++) {
      const p = await createPtyPair(dir, `hup${i}`);
      const h = await SerialTransport.open({ path: p.host, baudRate: 115200, parity: 'none' });
      const d = await SerialTransport.open({ path: p.device, baudRate: 115200, parity: 'none' });
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
