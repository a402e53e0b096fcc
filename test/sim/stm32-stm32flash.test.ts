import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';
import { BootloaderSimulator, type McuFamily } from '../../sim/stm32/index.ts';

const run = promisify(execFile);

/** The simulator changes mode right after its last ACK has drained; the tool may exit first. */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** stm32flash 0.7 (Debian) against the simulator: an independent implementation of AN3155. */
async function stm32flash(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('stm32flash', ['-m', '8n1', '-b', '115200', ...args], { timeout: 120_000 });
}

const cases: { family: McuFamily; uid: string; uidAddr: number; pid: string }[] = [
  { family: 'F4', uid: '1f0035000d51353037393638', uidAddr: 0x1fff7a10, pid: '0x0413' },
  { family: 'L4', uid: '2b0041001751363038353039', uidAddr: 0x1fff7590, pid: '0x0435' },
  { family: 'G0', uid: '0085004c3136501120383048', uidAddr: 0x1fff7590, pid: '0x0460' },
  { family: 'F1', uid: '55ff720649567751874731ff', uidAddr: 0x1ffff7e8, pid: '0x0410' },
];

for (const c of cases) {
  describe(`stm32flash against the ${c.family} simulator`, () => {
    let dir: string;
    let pair: PtyPair;
    let sim: BootloaderSimulator;
    const log: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'keyline-stm32flash-'));
      pair = await createPtyPair(dir, 'mcu');
      sim = await BootloaderSimulator.start({
        devicePath: pair.device,
        family: c.family,
        uid: c.uid,
        baud: 115200,
        stateFile: join(dir, 'mcu.bin'),
        latencyScale: 0.05,
        log: (l) => log.push(l),
      });
    });
    after(async () => {
      await sim.stop();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads the 12-byte UID with -r uid.bin -S <uid>:12', async () => {
      const out = join(dir, 'uid.bin');
      const r = await stm32flash([
        '-r',
        out,
        '-S',
        `0x${c.uidAddr.toString(16).toUpperCase()}:12`,
        pair.host,
      ]);
      assert.match(r.stdout, new RegExp(`Device ID\\s*:\\s*${c.pid}`));
      assert.equal(readFileSync(out).toString('hex'), c.uid);
    });

    it('writes a file with -w -v -S and the flash state holds its bytes', async () => {
      const file = join(dir, 'fw.bin');
      // 3000 bytes: several 256-byte blocks, a short tail, spans two 1 KiB F1 pages.
      const fw = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) & 0xff));
      writeFileSync(file, fw);
      const r = await stm32flash(['-w', file, '-v', '-S', '0x08004000', pair.host]);
      assert.match(r.stdout, /Wrote and verified/);
      assert.deepEqual(Buffer.from(sim.readFlash(0x08004000, fw.length)), fw);
      const image = readFileSync(sim.stateFile);
      assert.deepEqual(image.subarray(0x4000, 0x4000 + fw.length), fw);
      const s = sim.stats();
      assert.ok((s.byStep.write ?? 0) >= 12, 'written in blocks of at most 256 bytes');
      // The only NACK: this second run found the chip already synced, sent 0x7F twice and
      // took the NACK of the bad pair as "already initialised" — the resync stm32flash relies on.
      assert.equal(s.nacks, 1);
      assert.ok(log.includes('NACK: bad command pair 7f 7f'), log.join('\n'));
    });

    if (c.family === 'F4') {
      it('sets and clears read-out protection (-j, -k), write-unprotects (-u), resets (-R), runs (-g)', async () => {
        const flash = 0x08004000;
        assert.notDeepEqual([...sim.readFlash(flash, 4)], [0xff, 0xff, 0xff, 0xff]);
        await stm32flash(['-j', pair.host]);
        await eventually(() => sim.rdpLevel === 1, 'RDP level 1');
        // Protected: a read is refused, stm32flash fails.
        await assert.rejects(
          stm32flash(['-r', join(dir, 'x.bin'), '-S', '0x08004000:16', pair.host]),
        );
        await stm32flash(['-k', pair.host]);
        await eventually(() => sim.rdpLevel === 0, 'RDP level 0');
        assert.ok(
          sim.readFlash(flash, 4096).every((b) => b === 0xff),
          'unprotect mass-erased',
        );
        await stm32flash(['-u', pair.host]);
        assert.deepEqual(sim.writeProtectedSectors, []);
        // -R uploads a reset stub to SRAM and jumps to it: the chip comes back in the bootloader.
        await stm32flash(['-R', pair.host]);
        await eventually(() => sim.mode === 'awaiting-sync', 'the reset after -R');
        await stm32flash(['-g', '0x08000000', pair.host]);
        await eventually(() => sim.mode === 'application', 'the jump after -g');
        assert.ok(log.some((l) => /^GO 2000/.test(l)) && log.includes('GO 08000000 (flash)'));
      });
    }
  });
}
