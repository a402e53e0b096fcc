import { join } from 'node:path';
import { ModemSimulator, type ModemModel } from '../modem/index.ts';
import { McuFirmware, type FirmwareOptions } from './firmware.ts';
import { startTap, type Tap } from './tap.ts';

/**
 * A provisioned board in the field: the modem simulator (reloaded from the state file the
 * station wrote) on one side of a tapped UART, the MCU firmware model on the other.
 */
export interface FieldBoardOptions {
  /** Where the tap's PTY links and capture files go. */
  dir: string;
  name: string;
  modem: { model: ModemModel; imei: string; iccid: string; stateFile: string };
  /** The STM32 simulator's flash image state file. */
  flashImage: string;
  credentialAddress: number;
  baud?: number;
  /** Modem latency scale (0 = none). Default 0.2. */
  latencyScale?: number;
  log?: (source: 'modem' | 'mcu', line: string) => void;
}

export interface FieldBoard {
  readonly name: string;
  readonly tap: Tap;
  readonly modem: ModemSimulator;
  /** Boots the MCU firmware on the board's UART (again after a reset: the counter persists). */
  bootFirmware(): Promise<McuFirmware>;
  /** Stops the modem and the tap (boot returns a firmware the caller shuts down itself). */
  stop(): Promise<void>;
}

export async function startFieldBoard(o: FieldBoardOptions): Promise<FieldBoard> {
  const baud = o.baud ?? 115200;
  const tap = await startTap(o.dir, o.name);
  let modem: ModemSimulator;
  try {
    modem = await ModemSimulator.start({
      devicePath: tap.modemPort,
      model: o.modem.model,
      imei: o.modem.imei,
      iccid: o.modem.iccid,
      baud,
      stateFile: o.modem.stateFile,
      latencyScale: o.latencyScale ?? 0.2,
      log: o.log && ((l) => o.log?.('modem', l)),
    });
  } catch (e) {
    await tap.close();
    throw e;
  }
  const fw: FirmwareOptions = {
    port: tap.mcuPort,
    baud,
    flashImage: o.flashImage,
    credentialAddress: o.credentialAddress,
    counterFile: join(o.dir, `${o.name}.counter`),
    log: o.log && ((l) => o.log?.('mcu', l)),
  };
  return {
    name: o.name,
    tap,
    modem,
    bootFirmware: () => McuFirmware.boot(fw),
    async stop() {
      await modem.stop();
      await tap.close();
    },
  };
}
