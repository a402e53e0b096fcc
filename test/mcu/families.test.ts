import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CredentialAreaError,
  UnknownMcuError,
  deviceForPid,
  flashPages,
  knownDevices,
  pageContaining,
  planCredentialWrite,
} from '../../main/mcu/index.ts';

describe('STM32 family table', () => {
  it('covers F0, F1, F4, L4, G0, G4 and H7 with the PIDs protocols.md lists', () => {
    const expect: Record<number, string> = {
      0x440: 'F0',
      0x410: 'F1',
      0x414: 'F1',
      0x413: 'F4',
      0x419: 'F4',
      0x423: 'F4',
      0x433: 'F4',
      0x431: 'F4',
      0x415: 'L4',
      0x435: 'L4',
      0x460: 'G0',
      0x469: 'G4',
      0x450: 'H7',
    };
    for (const [pid, family] of Object.entries(expect))
      assert.equal(deviceForPid(Number(pid), 'p').family, family);
    const families = new Set(knownDevices().map((d) => d.family));
    assert.deepEqual([...families].sort(), ['F0', 'F1', 'F4', 'G0', 'G4', 'H7', 'L4']);
    assert.equal(
      new Set(knownDevices().map((d) => d.pid)).size,
      knownDevices().length,
      'PIDs are unique',
    );
  });

  it('has the UID and flash-size addresses of protocols.md', () => {
    const uid = (pid: number) => deviceForPid(pid, 'p').uidAddress;
    assert.equal(uid(0x440), 0x1fff_f7ac);
    assert.equal(uid(0x410), 0x1fff_f7e8);
    assert.equal(uid(0x413), 0x1fff_7a10);
    assert.equal(uid(0x435), 0x1fff_7590);
    assert.equal(uid(0x460), 0x1fff_7590);
    assert.equal(uid(0x469), 0x1fff_7590);
    assert.equal(uid(0x450), 0x1ff1_e800);
    assert.equal(deviceForPid(0x413, 'p').flashSizeAddress, 0x1fff_7a22);
    assert.equal(deviceForPid(0x435, 'p').flashSizeAddress, 0x1fff_75e0);
    assert.equal(deviceForPid(0x410, 'p').flashSizeAddress, 0x1fff_f7e0);
  });

  it('refuses an unknown PID by name instead of guessing', () => {
    assert.throws(
      () => deviceForPid(0x999, '/dev/ttyUSB3'),
      (e: unknown) =>
        e instanceof UnknownMcuError && e.pid === 0x999 && /\/dev\/ttyUSB3.*0x999/.test(e.message),
    );
  });

  it('lays out F4 sectors 4×16 + 64 + 7×128 KiB and bounds them by the reported flash size', () => {
    const f4 = deviceForPid(0x413, 'p');
    const all = flashPages(f4, 1024);
    assert.equal(all.length, 12);
    assert.deepEqual(
      all.map((p) => p.size / 1024),
      [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128],
    );
    assert.equal(all[4].address, 0x0801_0000);
    assert.equal(all[11].address + all[11].size, 0x0810_0000);
    assert.equal(flashPages(f4, 512).length, 8, 'a 512 KiB part ends after sector 7');
    assert.deepEqual(pageContaining(f4, 0x0800_c123, 1024), {
      index: 3,
      address: 0x0800_c000,
      size: 16384,
    });
    assert.equal(pageContaining(f4, 0x0810_0000, 1024), undefined);
    const f42x = flashPages(deviceForPid(0x419, 'p'), 2048);
    assert.equal(f42x.length, 24);
    assert.equal(f42x[12].address, 0x0810_0000, 'bank 2 starts at 1 MiB with sector 12');
  });

  it('lays out 2 KiB pages on L4 and G0 and 1 KiB on F1 medium density', () => {
    assert.deepEqual(pageContaining(deviceForPid(0x435, 'p'), 0x0803_f7ff, 256), {
      index: 126,
      address: 0x0803_f000,
      size: 2048,
    });
    assert.equal(flashPages(deviceForPid(0x460, 'p'), 128).length, 64);
    assert.equal(pageContaining(deviceForPid(0x410, 'p'), 0x0800_0400)?.index, 1);
  });
});

describe('planCredentialWrite', () => {
  const l4 = deviceForPid(0x435, 'p');
  const base = {
    family: l4,
    flashKiB: 256,
    area: { address: 0x0803_f000, size: 2048 },
    firmwareRegion: { start: 0x0800_0000, end: 0x0803_f000 },
  };

  it('accepts one whole reserved page next to the firmware', () => {
    assert.deepEqual(planCredentialWrite(base, 1500), {
      index: 126,
      address: 0x0803_f000,
      size: 2048,
    });
  });

  it('refuses each unsafe target with the reason', () => {
    const refuse = (t: typeof base, len: number, re: RegExp) =>
      assert.throws(
        () => planCredentialWrite(t, len),
        (e: unknown) => e instanceof CredentialAreaError && re.test(e.message),
      );
    refuse(
      { ...base, area: { address: 0x0803_f004, size: 1024 } },
      100,
      /not aligned: page 126 starts at 0x0803F000/,
    );
    refuse({ ...base, area: { address: 0x0803_f000, size: 4096 } }, 100, /must lie in one page/);
    refuse(
      { ...base, firmwareRegion: { start: 0x0800_0000, end: 0x0803_f001 } },
      100,
      /overlaps the firmware region/,
    );
    refuse(
      { ...base, firmwareRegion: { start: 0x0803_f7fc, end: 0x0804_0000 } },
      100,
      /overlaps the firmware region/,
    );
    refuse(base, 2049, /does not fit/);
  });

  it('pads to the flash word when checking the fit', () => {
    assert.doesNotThrow(() => planCredentialWrite(base, 2044));
    assert.throws(
      () => planCredentialWrite({ ...base, area: { address: 0x0803_f000, size: 2044 } }, 2041),
      CredentialAreaError,
    );
  });

  it('refuses an area beyond the reported flash size', () => {
    assert.throws(
      () => planCredentialWrite({ ...base, flashKiB: 128 }, 100),
      /not inside main flash/,
    );
  });
});
