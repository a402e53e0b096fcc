import { AtHost, AtHostError } from './at-host.ts';

/**
 * One TLS session the modem holds for its AT host, carrying framed envelopes (docs/field.md):
 * a 2-byte big-endian length and the envelope up, one answer line per frame down.
 */

export class FieldLinkError extends Error {
  override name = 'FieldLinkError';
  constructor(
    readonly port: string,
    readonly conn: number,
    readonly step: 'open' | 'send' | 'answer',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${port} conn ${conn} ${step}: ${message}`, options);
  }
}

/** The server's answer to one frame. */
export type FrameAnswer =
  { status: 'ok'; counter: bigint } | { status: 'rejected'; reason: string };

/** Largest QSSLSEND the modem takes at once. */
const sendChunk = 1460;

export class FieldLink {
  private rx: Buffer = Buffer.alloc(0);

  private constructor(
    readonly at: AtHost,
    readonly conn: number,
  ) {}

  /** AT+QSSLOPEN on `sslContext` (the context the station configured) and waits for +QSSLOPEN. */
  static async open(
    at: AtHost,
    o: { host: string; port: number; sslContext: number; conn: number; timeoutMs?: number },
  ): Promise<FieldLink> {
    try {
      await at.command(`AT+QSSLOPEN=1,${o.sslContext},${o.conn},"${o.host}",${o.port},0`);
      const urc = await at.waitUrc(
        (l) => l.startsWith(`+QSSLOPEN: ${o.conn},`),
        o.timeoutMs ?? 30_000,
      );
      const err = urc.slice(urc.indexOf(',') + 1);
      if (err !== '0') throw new FieldLinkError(at.port, o.conn, 'open', `modem reported ${urc}`);
    } catch (e) {
      if (e instanceof FieldLinkError) throw e;
      throw new FieldLinkError(at.port, o.conn, 'open', (e as Error).message, { cause: e });
    }
    return new FieldLink(at, o.conn);
  }

  /** Uses a session the modem already holds (someone else opened it: an attacker's view). */
  static attach(at: AtHost, conn: number): FieldLink {
    return new FieldLink(at, conn);
  }

  /** Sends one frame: length (2 bytes, big-endian) ‖ envelope, in modem-sized pieces. */
  async sendFrame(envelope: Uint8Array): Promise<void> {
    if (envelope.length > 0xffff)
      throw new FieldLinkError(this.at.port, this.conn, 'send', 'envelope too long to frame');
    const frame = new Uint8Array(2 + envelope.length);
    new DataView(frame.buffer).setUint16(0, envelope.length, false);
    frame.set(envelope, 2);
    try {
      for (let i = 0; i < frame.length; i += sendChunk)
        await this.at.sslSend(this.conn, frame.subarray(i, i + sendChunk));
    } catch (e) {
      throw new FieldLinkError(this.at.port, this.conn, 'send', (e as Error).message, {
        cause: e,
      });
    }
  }

  /** Reads the next answer line the server sent (via +QSSLURC "recv" and AT+QSSLRECV). */
  async readAnswer(timeoutMs = 20_000): Promise<FrameAnswer> {
    const deadline = Date.now() + timeoutMs;
    const recv = `+QSSLURC: "recv",${this.conn}`;
    const closed = `+QSSLURC: "closed",${this.conn}`;
    try {
      for (;;) {
        const nl = this.rx.indexOf(0x0a);
        if (nl >= 0) {
          const line = this.rx.subarray(0, nl).toString('latin1');
          this.rx = this.rx.subarray(nl + 1);
          const ok = /^ok (\d+)$/.exec(line);
          if (ok) return { status: 'ok', counter: BigInt(ok[1]) };
          const rej = /^rejected ([a-z-]+)$/.exec(line);
          if (rej) return { status: 'rejected', reason: rej[1] };
          throw new FieldLinkError(this.at.port, this.conn, 'answer', `unexpected line ${line}`);
        }
        const urc = await this.at.waitUrc(
          (l) => l === recv || l === closed,
          Math.max(1, deadline - Date.now()),
        );
        if (urc === closed)
          throw new FieldLinkError(this.at.port, this.conn, 'answer', 'server closed the session');
        for (;;) {
          const d = await this.at.sslRecv(this.conn);
          if (d.length === 0) break;
          this.rx = Buffer.concat([this.rx, d]);
        }
      }
    } catch (e) {
      if (e instanceof FieldLinkError) throw e;
      if (e instanceof AtHostError)
        throw new FieldLinkError(this.at.port, this.conn, 'answer', e.message, { cause: e });
      throw e;
    }
  }

  /** AT+QSSLCLOSE. */
  async close(): Promise<void> {
    await this.at.command(`AT+QSSLCLOSE=${this.conn}`).catch(() => {});
  }
}
