// One simulated STM32 on a real PTY pair for the MCU tests: the bootloader simulator on
// the device end, keyline's SerialTransport + BootloaderClient on the host end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  BootloaderClient,
  type BootloaderClientOptions,
  type BootloaderLogEntry,
  type CredentialBlobFields,
} from '../../main/mcu/index.ts';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';
import {
  BootloaderSimulator,
  type BootloaderFault,
  type McuFamily,
} from '../../sim/stm32/index.ts';

/** Where each tested family keeps its credentials in these tests (one reserved unit). */
export const LAYOUTS = {
  // Sector 3 (16 KiB) reserved; firmware in sectors 4–11.
  F4: {
    area: { address: 0x0800_c000, size: 16 * 1024 },
    firmwareRegion: { start: 0x0801_0000, end: 0x0810_0000 },
  },
  // Page 126 (2 KiB) reserved; firmware below it.
  L4: {
    area: { address: 0x0803_f000, size: 2048 },
    firmwareRegion: { start: 0x0800_0000, end: 0x0803_f000 },
  },
} as const;

export const UIDS = { F4: '3a0021000b51333233353530', L4: '0085004c3136501120383048' } as const;

export interface SimBoard {
  dir: string;
  pair: PtyPair;
  sim: BootloaderSimulator;
  /** Opens a fresh host-side connection (8N1: a PTY carries no parity). */
  connect(
    opts?: BootloaderClientOptions,
  ): Promise<{ client: BootloaderClient; log: BootloaderLogEntry[] }>;
  close(): Promise<void>;
}

export async function startSimBoard(
  family: McuFamily,
  uid: string,
  faults: BootloaderFault[] = [],
  latencyScale = 1,
): Promise<SimBoard> {
  const dir = mkdtempSync(join(tmpdir(), `keyline-mcu-${family}-`));
  const pair = await createPtyPair(dir, 'mcu');
  let sim: BootloaderSimulator;
  try {
    sim = await BootloaderSimulator.start({
      devicePath: pair.device,
      family,
      uid,
      baud: 115200,
      stateFile: join(dir, 'flash.bin'),
      faults,
      latencyScale,
    });
  } catch (e) {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const clients: BootloaderClient[] = [];
  return {
    dir,
    pair,
    sim,
    async connect(opts = {}) {
      const log: BootloaderLogEntry[] = [];
      const transport = await SerialTransport.open({
        path: pair.host,
        baudRate: 115200,
        parity: 'none',
      });
      const client = new BootloaderClient(transport, {
        ...opts,
        onLog: (e) => {
          log.push(e);
          opts.onLog?.(e);
        },
      });
      clients.push(client);
      return { client, log };
    },
    async close() {
      for (const c of clients) await c.close();
      await sim.stop();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Certificate-sized credential fields for a board; a fresh key each call. */
export function sampleFields(mcuUid: string): CredentialBlobFields {
  const der = (len: number, seed: number) => {
    const b = Uint8Array.from({ length: len }, (_, i) => (i * 131 + seed) & 0xff);
    b[0] = 0x30;
    return b;
  };
  return {
    deviceId: 'kl1-70f85d3f9036f695f8508881',
    mcuUid,
    mcuPrivateKey: p256.utils.randomSecretKey(),
    mcuCertificateDer: der(598, 1),
    serverPublicKey: p256.getPublicKey(p256.utils.randomSecretKey(), false),
    serverCaCertificateDer: der(521, 2),
    modemCertSha256: sha256(new TextEncoder().encode(`modem cert of ${mcuUid}`)),
  };
}
