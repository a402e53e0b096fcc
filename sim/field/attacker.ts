import { SerialTransport } from '../../main/transport/serial-transport.ts';
import { AtHost } from './at-host.ts';
import { FieldLink, type FrameAnswer } from './field-link.ts';

/**
 * A second writer on the MCU–modem UART: a wire on the MCU's TX/RX while the MCU is held
 * in reset. It speaks AT to the modem exactly as the firmware does, so it can use the TLS
 * session the modem holds (or open one: the modem's credentials are the modem's), but it
 * holds no MCU key of this board.
 */
export class BusAttacker {
  private constructor(readonly at: AtHost) {}

  /** Opens the same UART the MCU uses (a PTY can be opened twice, as copper can be tapped). */
  static async attach(
    port: string,
    baud = 115200,
    log?: (l: string) => void,
  ): Promise<BusAttacker> {
    const t = await SerialTransport.open({ path: port, baudRate: baud, parity: 'none' });
    return new BusAttacker(new AtHost(t, log));
  }

  /** Frames `envelope` into the modem's TLS session `conn` and returns the server's answer. */
  async inject(conn: number, envelope: Uint8Array): Promise<FrameAnswer> {
    const link = FieldLink.attach(this.at, conn);
    await link.sendFrame(envelope);
    return link.readAnswer();
  }

  /** Makes the modem open a session of its own with its stored identity. */
  async openSession(host: string, port: number, sslContext: number, conn: number): Promise<void> {
    await FieldLink.open(this.at, { host, port, sslContext, conn });
  }

  async detach(): Promise<void> {
    await this.at.close();
  }
}

/**
 * The envelopes a capture of the MCU→modem direction carries: each `AT+QSSLSEND=<c>,<n>\r`
 * is followed on the wire by its n data bytes; the frames inside are 2-byte length +
 * envelope (docs/field.md). What an eavesdropper recovers without any key.
 */
export function envelopesOnWire(mcuToModem: Uint8Array): Uint8Array[] {
  const text = Buffer.from(mcuToModem).toString('latin1');
  const data: Buffer[] = [];
  const re = /AT\+QSSLSEND=\d+,(\d+)\r/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[0].length;
    const n = Number(m[1]);
    data.push(Buffer.from(mcuToModem.subarray(start, start + n)));
    re.lastIndex = start + n;
  }
  const stream = Buffer.concat(data);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 2 <= stream.length;) {
    const len = stream.readUInt16BE(i);
    if (i + 2 + len > stream.length) break;
    out.push(new Uint8Array(stream.subarray(i + 2, i + 2 + len)));
    i += 2 + len;
  }
  return out;
}
