import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AtChannel, DeadlineExpired } from '../../main/modem/at-channel.ts';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { createPtyPair } from '../../sim/pty.ts';

describe('AtChannel', () => {
  it('a peer that stops reading cannot hold a write past its timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyline-chan-'));
    const pair = await createPtyPair(dir, 'w'); // nobody ever opens the device end
    const t = await SerialTransport.open({ path: pair.host, baudRate: 115_200, parity: 'none' });
    const lost: string[] = [];
    const ch = new AtChannel(
      t,
      4096,
      () => {},
      (r) => lost.push(r),
    );
    try {
      const signal = new AbortController().signal;
      const t0 = Date.now();
      const err = await (async () => {
        for (let i = 0; i < 256; i++) await ch.write(new Uint8Array(65_536), 500, signal);
      })().catch((e: unknown) => e);
      assert.ok(err instanceof DeadlineExpired, `expected a deadline, got ${String(err)}`);
      assert.ok(Date.now() - t0 < 20_000);
    } finally {
      await t.close();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
