/** `probeMcu`: open a port, sync, identify, close — what `keyline probe --mcu` prints. */
import { SerialTransport } from '../transport/serial-transport.ts';
import type { Parity } from '../transport/transport.ts';
import { formatBootloaderVersion } from './an3155.ts';
import { BootloaderClient } from './bootloader-client.ts';
import type { BootloaderLogEntry } from './bootloader-link.ts';
import { identifyMcu } from './identify.ts';

export interface ProbeMcuOptions {
  baudRate: number;
  /** 'even' (8E1) on a real UART, 'none' against a PTY simulator. */
  parity: Parity;
  /** Per-exchange acknowledgement timeout (default 1000 ms). */
  timeoutMs?: number;
  onLog?: (entry: BootloaderLogEntry) => void;
  signal?: AbortSignal;
}

export interface McuProbeResult {
  pid: number;
  family: string;
  flashKiB: number;
  mcuUid: string;
  bootloaderVersion: string;
}

/** Identifies the STM32 behind `path`; the port is closed on every path. */
export async function probeMcu(path: string, opts: ProbeMcuOptions): Promise<McuProbeResult> {
  const transport = await SerialTransport.open({
    path,
    baudRate: opts.baudRate,
    parity: opts.parity,
  });
  const client = new BootloaderClient(transport, {
    timeouts:
      opts.timeoutMs === undefined
        ? {}
        : { ackMs: opts.timeoutMs, syncMs: Math.min(opts.timeoutMs, 500) },
    onLog: opts.onLog,
    signal: opts.signal,
  });
  try {
    await client.sync();
    const id = await identifyMcu(client);
    return {
      pid: id.pid,
      family: id.device.family,
      flashKiB: id.flashKiB,
      mcuUid: id.mcuUid,
      bootloaderVersion: formatBootloaderVersion(id.bootloaderVersion),
    };
  } finally {
    await client.close();
  }
}
