import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsCredentials } from '../../../main/modem/index.ts';
import { SerialTransport } from '../../../main/transport/serial-transport.ts';
import { ModemSimulator, type ModemFault, type ModemModel } from '../../../sim/modem/index.ts';
import { createPtyPair, type PtyPair } from '../../../sim/pty.ts';

/** KEYLINE_TEST_MODEM=/dev/ttyUSBx points the suite at a real module (sim-only tests skip). */
export const realModem = process.env.KEYLINE_TEST_MODEM;
export const realBaud = Number(process.env.KEYLINE_TEST_MODEM_BAUD ?? 115200);

export const testImei = '490154203237518';
export const testIccid = '8901260886258128535F';

const fixtures = new URL('../fixtures/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'latin1');

/** Fixed test credentials (see fixtures/README.md). */
export function testCredentials(extra: Partial<TlsCredentials> = {}): TlsCredentials {
  return {
    caCertPem: fixture('ca-chain.pem'),
    clientCertPem: fixture('client.pem'),
    clientKeyPem: fixture('client.key'),
    ...extra,
  };
}

/** A module to test against: the simulator on a fresh PTY pair, or the real board. */
export interface TestBoard {
  /** Undefined on a real board. */
  readonly sim: ModemSimulator | undefined;
  readonly transport: SerialTransport;
  readonly pair: PtyPair | undefined;
  close(): Promise<void>;
}

export interface BoardOptions {
  model: ModemModel;
  faults?: ModemFault[];
  ufsCapacityBytes?: number;
  imei?: string;
  baud?: number;
}

export async function startBoard(o: BoardOptions): Promise<TestBoard> {
  if (realModem) {
    const transport = await SerialTransport.open({
      path: realModem,
      baudRate: realBaud,
      parity: 'none',
    });
    return { sim: undefined, transport, pair: undefined, close: () => transport.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'keyline-modem-drv-'));
  const pair = await createPtyPair(dir, 'm');
  const baud = o.baud ?? 115_200;
  let sim: ModemSimulator | undefined;
  try {
    sim = await ModemSimulator.start({
      devicePath: pair.device,
      model: o.model,
      imei: o.imei ?? testImei,
      iccid: testIccid,
      baud,
      stateFile: join(dir, 'modem.json'),
      faults: o.faults,
      ufsCapacityBytes: o.ufsCapacityBytes,
      latencyScale: 0.2,
      onUnplug: () => pair.close(),
    });
    const transport = await SerialTransport.open({
      path: pair.host,
      baudRate: baud,
      parity: 'none',
    });
    const s = sim;
    return {
      sim: s,
      transport,
      pair,
      async close() {
        await transport.close();
        await s.stop();
        await pair.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await sim?.stop();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The station's bytes as text lines: split after CR or LF, escaped so the rendering is exact. */
export function renderTranscript(bytes: Uint8Array): string {
  const lines: string[] = [];
  let cur = '';
  for (const b of bytes) {
    if (b === 0x0d) cur += '\\r';
    else if (b === 0x0a) cur += '\\n';
    else if (b === 0x5c) cur += '\\\\';
    else if (b >= 0x20 && b < 0x7f) cur += String.fromCharCode(b);
    else cur += `\\x${b.toString(16).padStart(2, '0')}`;
    if (b === 0x0d || b === 0x0a) {
      lines.push(cur);
      cur = '';
    }
  }
  if (cur) lines.push(cur);
  return lines.join('\n') + '\n';
}
