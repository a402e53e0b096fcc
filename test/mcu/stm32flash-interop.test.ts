import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  decodeCredentialBlob,
  encodeCredentialBlob,
  identifyMcu,
  writeCredentials,
} from '../../main/mcu/index.ts';
import { LAYOUTS, UIDS, sampleFields, startSimBoard } from './sim-board.ts';

const run = promisify(execFile);

/** stm32flash (Debian 0.7), an independent AN3155 implementation; 8N1 because a PTY carries no parity. */
function stm32flash(args: string[]) {
  return run('stm32flash', ['-m', '8n1', '-b', '115200', ...args], { timeout: 120_000 });
}

for (const family of ['F4', 'L4'] as const) {
  describe(`${family}: keyline and stm32flash agree on the bytes`, () => {
    it('stm32flash reads back the blob keyline wrote, and it decodes to the same fields', async () => {
      const board = await startSimBoard(family, UIDS[family]);
      try {
        const layout = LAYOUTS[family];
        const { client } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        const fields = sampleFields(UIDS[family]);
        const blob = encodeCredentialBlob(fields);
        const length = blob.length;
        await writeCredentials(client, { family: id.device, ...layout }, blob, {
          readoutProtect: false,
        });
        await client.close();

        const out = join(board.dir, 'out.bin');
        const addr = `0x${layout.area.address.toString(16)}`;
        await stm32flash(['-r', out, '-S', `${addr}:${length}`, board.pair.host]);
        const read = new Uint8Array(readFileSync(out));
        assert.equal(read.length, length);
        const d = decodeCredentialBlob(read);
        assert.equal(d.deviceId, fields.deviceId);
        assert.equal(d.mcuUid, fields.mcuUid);
        assert.deepEqual(d.mcuPrivateKey, fields.mcuPrivateKey);
        assert.deepEqual(d.mcuCertificateDer, fields.mcuCertificateDer);
        assert.deepEqual(d.serverPublicKey, fields.serverPublicKey);
        assert.deepEqual(d.serverCaCertificateDer, fields.serverCaCertificateDer);
        assert.deepEqual(d.modemCertSha256, fields.modemCertSha256);
      } finally {
        await board.close();
      }
    });

    it('keyline reads back and decodes a blob file stm32flash wrote', async () => {
      const board = await startSimBoard(family, UIDS[family]);
      try {
        const layout = LAYOUTS[family];
        const fields = sampleFields(UIDS[family]);
        const file = join(board.dir, 'blob.bin');
        writeFileSync(file, encodeCredentialBlob(fields));
        await stm32flash([
          '-w',
          file,
          '-v',
          '-S',
          `0x${layout.area.address.toString(16)}`,
          board.pair.host,
        ]);

        const { client } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        assert.equal(id.mcuUid, UIDS[family], 'UID read after stm32flash left the session synced');
        const d = decodeCredentialBlob(await client.readRange(layout.area.address, 2048));
        assert.deepEqual(d.mcuPrivateKey, fields.mcuPrivateKey);
        assert.deepEqual(d.mcuCertificateDer, fields.mcuCertificateDer);
      } finally {
        await board.close();
      }
    });
  });
}
