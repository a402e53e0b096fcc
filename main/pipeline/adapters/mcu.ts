import {
  BootloaderClient,
  BootloaderError,
  identifyMcu,
  writeCredentials,
  type McuIdentity,
} from '../../mcu/index.ts';
import type { ProductProfile } from '../../profile/schema.ts';
import { SerialTransport } from '../../transport/serial-transport.ts';
import type { BoardMcu, OpenOptions } from '../ports.ts';

/**
 * Opens the slot's MCU port with the profile's line settings (8E1 real, 8N1 simulator),
 * syncs the ROM bootloader (bounded retries, each one logged to the slot), identifies the
 * part and reads its UID. The port is closed if anything here fails.
 */
export async function openBootloader(
  port: string,
  mcu: ProductProfile['mcu'],
  opts: OpenOptions,
): Promise<BoardMcu> {
  const transport = await SerialTransport.open({
    path: port,
    baudRate: mcu.baudRate,
    parity: mcu.parity,
  });
  const client = new BootloaderClient(transport, {
    signal: opts.signal,
    onLog: (e) => opts.log(`mcu ${e.step}: ${e.message}`, e.level),
  });
  let id: McuIdentity;
  try {
    await client.sync();
    id = await identifyMcu(client);
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
  const target = {
    family: id.device,
    area: mcu.credentialArea,
    firmwareRegion: mcu.firmwareRegion,
    flashKiB: id.flashKiB,
  };
  return {
    family: id.device.family,
    mcuUid: id.mcuUid,
    async writeCredentials(blob, { onProgress }) {
      await writeCredentials(client, target, blob, {
        readoutProtect: false,
        onProgress: (p) =>
          onProgress({ fraction: p.totalPercent / 100, message: `${p.step}: ${p.message}` }),
      });
    },
    async readoutProtect() {
      await client.readoutProtect();
      if (!(await client.probeReadoutProtection(mcu.credentialArea.address)))
        throw new BootloaderError({
          port,
          step: 'readout-protect',
          address: mcu.credentialArea.address,
          detail: 'device still serves reads after Readout Protect',
          deviceAnswered: 'data',
        });
    },
    close: () => client.close(),
  };
}
