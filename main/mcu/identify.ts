/**
 * Identifies a synchronised STM32: product ID → family entry, then the 96-bit UID and
 * the flash size from system memory.
 */
import type { BootloaderClient } from './bootloader-client.ts';
import { BootloaderError, ReadoutProtectedError } from './errors.ts';
import { deviceForPid, type McuDevice } from './families.ts';

export interface McuIdentity {
  pid: number;
  device: McuDevice;
  /** 24 lowercase hex digits, the 12 UID bytes in address order. */
  mcuUid: string;
  flashKiB: number;
  /** Bootloader protocol version byte (0x31 = v3.1). */
  bootloaderVersion: number;
}

const BLOCK = 256;

/**
 * Reads several short system-memory fields, each through the 256-byte aligned block that
 * holds it (fetched once per block): some real F4 and L0 bootloaders NACK small reads at
 * the UID and flash-size registers but serve the whole block. Falls back to the exact
 * read when a block itself is refused (a part that maps less of system memory), but
 * never on read-out protection.
 */
export async function readSystemFields(
  client: BootloaderClient,
  fields: ReadonlyArray<{ address: number; length: number }>,
): Promise<Uint8Array[]> {
  const blocks = new Map<number, Uint8Array | null>();
  const out: Uint8Array[] = [];
  for (const { address, length } of fields) {
    const base = address - (address % BLOCK);
    let block: Uint8Array | null = null;
    if (address + length <= base + BLOCK) {
      if (!blocks.has(base)) {
        try {
          blocks.set(base, await client.readMemory(base, BLOCK));
        } catch (e) {
          if (e instanceof ReadoutProtectedError || !(e instanceof BootloaderError)) throw e;
          blocks.set(base, null);
        }
      }
      block = blocks.get(base) ?? null;
    }
    out.push(
      block
        ? block.slice(address - base, address - base + length)
        : await client.readMemory(address, length),
    );
  }
  return out;
}

/** Runs Get, Get ID and the UID / flash-size reads on an already synchronised client. */
export async function identifyMcu(client: BootloaderClient): Promise<McuIdentity> {
  const info = await client.get();
  const pid = await client.getId();
  const device = deviceForPid(pid, client.port);
  const [uid, size] = await readSystemFields(client, [
    { address: device.uidAddress, length: 12 },
    { address: device.flashSizeAddress, length: 2 },
  ]);
  return {
    pid,
    device,
    mcuUid: Array.from(uid, (b) => b.toString(16).padStart(2, '0')).join(''),
    flashKiB: size[0] | (size[1] << 8),
    bootloaderVersion: info.version,
  };
}
