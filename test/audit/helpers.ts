import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openQuectelModem,
  type QuectelModem,
  type TlsCredentials,
} from '../../main/modem/index.ts';
import { SerialTransport } from '../../main/transport/serial-transport.ts';
import {
  ModemSimulator,
  type ModemFault,
  type ModemModel,
  type ModemPersonality,
} from '../../sim/modem/index.ts';
import { createPtyPair, type PtyPair } from '../../sim/pty.ts';

export const testImei = '490154203237518';
export const testIccid = '8901260886258128535F';
export const baud = 115_200;

/** The modem driver's fixed test-only credentials (test/modem/fixtures/README.md). */
export function testCredentials(ctx = 1): TlsCredentials {
  const read = (n: string) =>
    readFileSync(new URL(`../modem/fixtures/${n}`, import.meta.url), 'latin1');
  return {
    caCertPem: read('ca-chain.pem'),
    clientCertPem: read('client.pem'),
    clientKeyPem: read('client.key'),
    ctx,
  };
}

export interface SimBoard {
  readonly sim: ModemSimulator;
  readonly pair: PtyPair;
  readonly dir: string;
  close(): Promise<void>;
}

export interface SimBoardOptions {
  model?: ModemModel;
  personality: ModemPersonality;
  firmware?: string;
  faults?: ModemFault[];
}

/** A modem simulator on a fresh PTY pair; the host end is left for the test to open. */
export async function startSimBoard(o: SimBoardOptions): Promise<SimBoard> {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-audit-'));
  const pair = await createPtyPair(dir, 'm');
  let sim: ModemSimulator;
  try {
    sim = await ModemSimulator.start({
      devicePath: pair.device,
      model: o.model ?? 'EC25',
      personality: o.personality,
      firmware: o.firmware,
      faults: o.faults,
      imei: testImei,
      iccid: testIccid,
      baud,
      stateFile: join(dir, 'modem.json'),
      latencyScale: 0.1,
      onUnplug: () => pair.close(),
    });
  } catch (e) {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    sim,
    pair,
    dir,
    async close() {
      await sim.stop();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the station end with the modem driver (session set-up and identity). */
export async function openModem(board: SimBoard): Promise<QuectelModem> {
  const transport = await SerialTransport.open({
    path: board.pair.host,
    baudRate: baud,
    parity: 'none',
  });
  return openQuectelModem(transport, { slot: 1 });
}

/** The station's command lines in `bytes` (split at CR; a lone CR is an empty line). */
export function commandLines(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes).toString('latin1');
  const parts = text.split('\r');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * Bytes as transcript text: one line per CR or LF, each ending in its escape (`\r`, `\n`);
 * backslash and non-printable bytes escaped, so the rendering maps back to the bytes exactly.
 */
export function renderBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x0d) out += '\\r\n';
    else if (b === 0x0a) out += '\\n\n';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out.endsWith('\n') || out === '' ? out : out + '\n';
}
