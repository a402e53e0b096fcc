import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BootloaderError,
  CredentialAreaError,
  ReadoutProtectedError,
  decodeCredentialBlob,
  encodeCredentialBlob,
  identifyMcu,
  probeMcu,
  writeCredentials,
  type CredentialTarget,
  type CredentialWriteProgress,
  type McuDevice,
} from '../../main/mcu/index.ts';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { LAYOUTS, UIDS, sampleFields, startSimBoard, type SimBoard } from './sim-board.ts';

const FAMILIES = ['F4', 'L4'] as const;

for (const family of FAMILIES) {
  const layout = LAYOUTS[family];
  const uid = UIDS[family];

  describe(`bootloader client against the ${family} simulator`, () => {
    let board: SimBoard;
    let device: McuDevice;
    let flashKiB: number;
    const target = (): CredentialTarget => ({ family: device, flashKiB, ...layout });

    before(async () => {
      board = await startSimBoard(family, uid);
    });
    after(async () => board.close());

    it('probeMcu reports PID, family, flash size, UID and bootloader version, and closes the port', async () => {
      const r = await probeMcu(board.pair.host, { baudRate: 115200, parity: 'none' });
      assert.equal(r.family, family);
      assert.equal(r.pid, board.sim.model.pid);
      assert.equal(r.flashKiB, board.sim.model.flashSize / 1024);
      assert.equal(r.mcuUid, uid);
      assert.equal(r.bootloaderVersion, '3.1');
      // The port was released: a second probe opens it again and agrees.
      const again = await probeMcu(board.pair.host, { baudRate: 115200, parity: 'none' });
      assert.deepEqual(again, r);
    });

    it('writes, verifies and decodes a blob in exactly the reserved unit, leaving firmware intact', async () => {
      const { client, log } = await board.connect();
      await client.sync();
      const id = await identifyMcu(client);
      device = id.device;
      flashKiB = id.flashKiB;
      assert.equal(id.mcuUid, uid);

      // "Firmware" bytes right before and right after the credential unit must survive.
      const before = layout.area.address - 256;
      const afterUnit = layout.area.address + layout.area.size;
      const firmware = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 1) & 0xff);
      await client.writeRange(before, firmware);
      await client.writeRange(afterUnit, firmware);
      // Something stale in the credential unit must be erased first.
      await client.writeRange(layout.area.address + layout.area.size / 2, firmware);

      const fields = sampleFields(uid);
      const blob = encodeCredentialBlob(fields);
      const expected = blob.slice();
      const progress: CredentialWriteProgress[] = [];
      const nacksBefore = board.sim.stats().nacks;
      const result = await writeCredentials(client, target(), blob, {
        readoutProtect: false,
        onProgress: (p) => progress.push(p),
      });

      assert.ok(
        blob.every((b) => b === 0),
        'blob (holding the private key) is zeroized after the write',
      );
      assert.equal(result.page.address, layout.area.address);
      assert.equal(result.page.size, layout.area.size);
      assert.equal(result.bytesWritten, expected.length);
      assert.deepEqual(
        board.sim.readFlash(layout.area.address, expected.length),
        expected,
        'simulator flash holds the blob',
      );
      assert.ok(
        board.sim
          .readFlash(layout.area.address + expected.length, layout.area.size - expected.length)
          .every((b) => b === 0xff),
        'rest of the credential unit is erased',
      );
      assert.deepEqual(board.sim.readFlash(before, 256), firmware, 'unit before untouched');
      assert.deepEqual(board.sim.readFlash(afterUnit, 256), firmware, 'unit after untouched');

      const decoded = decodeCredentialBlob(
        board.sim.readFlash(layout.area.address, layout.area.size),
      );
      assert.deepEqual(decoded.mcuPrivateKey, fields.mcuPrivateKey);
      assert.equal(decoded.mcuUid, uid);
      assert.deepEqual(decoded.serverCaCertificateDer, fields.serverCaCertificateDer);

      // A clean line needs no second attempt anywhere: one command per chunk, no NACKs.
      assert.deepEqual(
        log.filter((e) => e.level === 'warn'),
        [],
      );
      const stats = board.sim.stats();
      assert.equal(stats.nacks, nacksBefore);
      const chunks = Math.ceil(expected.length / 256);
      assert.equal(stats.byStep.write, 3 + chunks, 'three firmware writes, then the blob');
      assert.deepEqual([...new Set(progress.map((p) => p.step))], ['erase', 'write', 'verify']);
      assert.equal(progress.at(-1)?.totalPercent, 100);
      assert.ok(
        progress.every((p, i) => i === 0 || p.totalPercent >= progress[i - 1].totalPercent),
      );
      await client.close();
    });

    it('refuses areas that are misaligned, span units, overlap firmware or are too small — before touching the device', async () => {
      const { client } = await board.connect();
      const commandsBefore = board.sim.stats().commands;
      const t = target();
      const blob = encodeCredentialBlob(sampleFields(uid));
      const cases: CredentialTarget[] = [
        { ...t, area: { address: t.area.address + 8, size: 1024 } },
        { ...t, area: { address: t.area.address, size: t.area.size + 4 } },
        { ...t, firmwareRegion: { start: 0x0800_0000, end: t.area.address + 1 } },
        { ...t, area: { address: t.area.address, size: 512 } },
        { ...t, area: { address: 0x2000_0000, size: 2048 } },
      ];
      for (const c of cases) {
        const copy = blob.slice();
        await assert.rejects(
          writeCredentials(client, c, copy, { readoutProtect: false }),
          CredentialAreaError,
        );
        assert.ok(
          copy.every((b) => b === 0),
          'zeroized even when refused',
        );
      }
      assert.equal(board.sim.stats().commands, commandsBefore, 'no command reached the bootloader');
      await client.close();
    });
  });

  describe(`${family}: faults on the line`, () => {
    it('re-sends a NACKed write chunk and still verifies', async () => {
      const board = await startSimBoard(family, uid, [{ kind: 'nack-write', block: 3 }]);
      try {
        const { client, log } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        const blob = encodeCredentialBlob(sampleFields(uid));
        const expected = blob.slice();
        await writeCredentials(client, { family: id.device, ...layout }, blob, {
          readoutProtect: false,
        });
        assert.deepEqual(board.sim.readFlash(layout.area.address, expected.length), expected);
        assert.deepEqual(board.sim.stats().faultsFired, ['nack-write block 3']);
        assert.ok(
          log.some(
            (e) => e.level === 'warn' && e.step === 'write' && /NACK at data/.test(e.message),
          ),
          'retry is in the log',
        );
      } finally {
        await board.close();
      }
    });

    it('gives up on a chunk the device keeps refusing, with a typed error naming the address', async () => {
      const board = await startSimBoard(family, uid, [
        { kind: 'nack-write', block: 2, always: true },
      ]);
      try {
        const { client } = await board.connect({ retries: 2 });
        await client.sync();
        const id = await identifyMcu(client);
        const blob = encodeCredentialBlob(sampleFields(uid));
        await assert.rejects(
          writeCredentials(client, { family: id.device, ...layout }, blob, {
            readoutProtect: false,
          }),
          (e: unknown) => {
            assert.ok(e instanceof BootloaderError);
            assert.equal(e.step, 'write');
            assert.equal(e.address, layout.area.address + 256);
            assert.equal(e.port, board.pair.host);
            assert.match(e.message, /NACK at the data stage after 3 attempts/);
            return true;
          },
        );
        assert.ok(
          blob.every((b) => b === 0),
          'zeroized on failure',
        );
        assert.equal(board.sim.stats().faultsFired.length, 3, 'one try plus two retries');
      } finally {
        await board.close();
      }
    });

    it('recovers from corrupted ACKs on sync, erase, write and read', async () => {
      const board = await startSimBoard(family, uid, [
        { kind: 'corrupt-ack', step: 'sync' },
        { kind: 'corrupt-ack', step: 'extended-erase' },
        { kind: 'corrupt-ack', step: 'write', occurrence: 2 },
        { kind: 'corrupt-ack', step: 'read', occurrence: 4 },
      ]);
      try {
        const { client, log } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        assert.equal(id.mcuUid, uid);
        const blob = encodeCredentialBlob(sampleFields(uid));
        const expected = blob.slice();
        await writeCredentials(client, { family: id.device, ...layout }, blob, {
          readoutProtect: false,
        });
        assert.deepEqual(board.sim.readFlash(layout.area.address, expected.length), expected);
        assert.equal(
          board.sim.stats().faultsFired.length,
          4,
          board.sim.stats().faultsFired.join('; '),
        );
        assert.ok(
          log.some((e) => e.step === 'sync' && e.level === 'warn'),
          'sync retry logged',
        );
        assert.ok(
          log.some((e) => /was written despite the bad answer/.test(e.message)),
          'garbled write ACK settled by reading back',
        );
      } finally {
        await board.close();
      }
    });

    it('times out a stalled write with a typed error and leaves the port closed and reusable', async () => {
      const board = await startSimBoard(family, uid, [
        { kind: 'stall', step: 'write', occurrence: 2 },
      ]);
      try {
        const { client } = await board.connect({ timeouts: { ackMs: 400 } });
        await client.sync();
        const id = await identifyMcu(client);
        const blob = encodeCredentialBlob(sampleFields(uid));
        await assert.rejects(
          writeCredentials(client, { family: id.device, ...layout }, blob, {
            readoutProtect: false,
          }),
          (e: unknown) => {
            assert.ok(e instanceof BootloaderError);
            assert.equal(e.step, 'write');
            assert.equal(e.address, layout.area.address + 256);
            assert.equal(e.deviceAnswered, 'nothing');
            assert.match(e.detail, /no answer within 400 ms/);
            return true;
          },
        );
        await client.close();
        assert.equal(client.transport.isOpen, false);
        // The line is clean: a new session on the same port identifies the board again.
        const r = await probeMcu(board.pair.host, { baudRate: 115200, parity: 'none' });
        assert.equal(r.mcuUid, uid);
      } finally {
        await board.close();
      }
    });

    /** A board whose erases take far longer than 200 ms, and a session allowing 200 ms a page. */
    async function slowEraseSession() {
      const board = await startSimBoard(family, uid, [
        { kind: 'slow-erase', factor: family === 'F4' ? 4 : 40 },
      ]);
      try {
        const { client } = await board.connect({ timeouts: { erasePerPageMs: 200 } });
        await client.sync();
        return { board, client, id: await identifyMcu(client) };
      } catch (e) {
        await board.close();
        throw e;
      }
    }

    it('waits out a slow erase within its budget and fails typed beyond it', async () => {
      const { board, client, id } = await slowEraseSession();
      try {
        await assert.rejects(
          client.erasePages([3]),
          (e: unknown) => e instanceof BootloaderError && e.step === 'erase',
        );
        await client.close();
        // Let the slow erase finish so its late ACK does not meet the next session.
        await new Promise((r) => setTimeout(r, 1500));
        const second = await board.connect();
        await second.client.sync();
        await second.client.erasePages([3]);
        assert.ok(
          board.sim
            .readFlash(id.device.flashBase + (family === 'F4' ? 0xc000 : 3 * 2048), 64)
            .every((b) => b === 0xff),
        );
      } finally {
        await board.close();
      }
    });

    it('stops the credential write at an erase beyond its budget: step erase, nothing written', async () => {
      const { board, client, id } = await slowEraseSession();
      try {
        const blob = encodeCredentialBlob(sampleFields(uid));
        await assert.rejects(
          writeCredentials(client, { family: id.device, ...layout }, blob, {
            readoutProtect: false,
          }),
          (e: unknown) =>
            e instanceof BootloaderError && e.step === 'erase' && /within 200 ms/.test(e.detail),
        );
        assert.ok(
          blob.every((b) => b === 0),
          'zeroized on failure',
        );
        // The erase and the writes share one lock-step run: none went out after the erase.
        assert.equal(board.sim.stats().byStep.write ?? 0, 0);
        await client.close();
      } finally {
        await board.close();
      }
    });
  });

  describe(`${family}: read-out protection`, () => {
    it('sets RDP after the verified write; reads are then refused once, without retries', async () => {
      const board = await startSimBoard(family, uid);
      try {
        const { client } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        const blob = encodeCredentialBlob(sampleFields(uid));
        const expected = blob.slice();
        const progress: CredentialWriteProgress[] = [];
        const r = await writeCredentials(client, { family: id.device, ...layout }, blob, {
          readoutProtect: true,
          onProgress: (p) => progress.push(p),
        });
        assert.equal(r.readoutProtected, true);
        assert.equal(board.sim.rdpLevel, 1);
        assert.deepEqual(
          board.sim.readFlash(layout.area.address, expected.length),
          expected,
          'the blob survives RDP',
        );
        assert.equal(progress.at(-1)?.step, 'protect');

        const readsBefore = board.sim.stats().byStep.read ?? 0;
        await assert.rejects(client.readMemory(layout.area.address, 16), ReadoutProtectedError);
        assert.equal(
          board.sim.stats().byStep.read ?? 0,
          readsBefore,
          'this client does not even ask',
        );
        await client.close();

        // A new session that does not know about RDP asks once and stops at the NACK.
        const fresh = await board.connect();
        await fresh.client.sync();
        await assert.rejects(fresh.client.readMemory(layout.area.address, 16), (e: unknown) => {
          assert.ok(e instanceof ReadoutProtectedError);
          assert.equal(e.step, 'read');
          assert.equal(e.address, layout.area.address);
          return true;
        });
        assert.equal(
          (board.sim.stats().byStep.read ?? 0) - readsBefore,
          1,
          'refused read not retried',
        );
        await assert.rejects(identifyMcu(fresh.client), ReadoutProtectedError);
      } finally {
        await board.close();
      }
    });
  });
}

describe('read-out protection with a garbled second ACK', () => {
  it('re-syncs after the reset and confirms RDP by asking the device', async () => {
    const board = await startSimBoard('L4', UIDS.L4, [
      { kind: 'corrupt-ack', step: 'readout-protect' },
    ]);
    try {
      const { client, log } = await board.connect();
      await client.sync();
      const id = await identifyMcu(client);
      const blob = encodeCredentialBlob(sampleFields(UIDS.L4));
      const r = await writeCredentials(client, { family: id.device, ...LAYOUTS.L4 }, blob, {
        readoutProtect: true,
      });
      assert.equal(r.readoutProtected, true);
      assert.equal(board.sim.rdpLevel, 1);
      assert.equal(board.sim.stats().faultsFired.length, 1);
      assert.ok(log.some((e) => e.step === 'readout-protect' && /re-synchronised/.test(e.message)));
    } finally {
      await board.close();
    }
  });
});

describe('unplugged during the credential write', () => {
  it('fails with a typed error naming the step, and the blob is still zeroized', async () => {
    const board = await startSimBoard('L4', UIDS.L4);
    try {
      const { client } = await board.connect();
      await client.sync();
      const id = await identifyMcu(client);
      const blob = encodeCredentialBlob(sampleFields(UIDS.L4));
      let unplugged: Promise<void> | undefined;
      await assert.rejects(
        writeCredentials(client, { family: id.device, ...LAYOUTS.L4 }, blob, {
          readoutProtect: false,
          onProgress: (p) => {
            if (p.step === 'write' && p.stepPercent > 0) unplugged ??= board.pair.close();
          },
        }),
        (e: unknown) => {
          assert.ok(e instanceof BootloaderError, String(e));
          assert.equal(e.step, 'write');
          assert.match(e.detail, /port closed|i\/o error/);
          return true;
        },
      );
      await unplugged;
      assert.ok(blob.every((b) => b === 0));
      assert.equal(client.transport.isOpen, false);
    } finally {
      await board.close();
    }
  });
});

describe('probeMcu on a port that does not answer', () => {
  it('fails sync with a typed error after its bounded retries', async () => {
    const { createPtyPair } = await import('../../sim/pty.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'keyline-mcu-silent-'));
    const pair = await createPtyPair(dir, 'silent');
    // Hold the device end open so the host end does not see a hang-up.
    const deviceEnd = await SerialTransport.open({
      path: pair.device,
      baudRate: 115200,
      parity: 'none',
    });
    try {
      await assert.rejects(
        probeMcu(pair.host, { baudRate: 115200, parity: 'none', timeoutMs: 100 }),
        (e: unknown) => {
          assert.ok(e instanceof BootloaderError);
          assert.equal(e.step, 'sync');
          assert.match(e.detail, /after 5 attempts/);
          return true;
        },
      );
    } finally {
      await deviceEnd.close();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
