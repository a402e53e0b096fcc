import { TransportTimeoutError, type Transport } from '../../main/transport/transport.ts';

/**
 * The AT side of the simulated board: what STM32 firmware does on its UART to the modem
 * (and what an attacker with a wire on that UART can do just as well). Written from
 * protocols.md, sharing nothing with the station's modem driver. One operation at a time;
 * URCs that arrive in between are queued for `waitUrc`.
 */

/** A command the modem refused or did not finish in time; carries what it answered. */
export class AtHostError extends Error {
  override name = 'AtHostError';
  constructor(
    readonly port: string,
    readonly command: string,
    readonly answer: string,
    message: string,
  ) {
    super(`${port}: ${command}: ${message}`);
  }
}

const URC = /^(\+QSSLURC:|\+QSSLOPEN:|\+QIURC:|RDY$|\+CPIN:|\+CFUN:|POWERED DOWN$)/;
const FINAL = /^(OK|ERROR|\+CME ERROR: .*|\+CMS ERROR: .*)$/;

export class AtHost {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private readonly urcs: string[] = [];
  private closed = false;
  private readonly pump: Promise<void>;

  constructor(
    private readonly transport: Transport,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.pump = this.readLoop();
  }

  get port(): string {
    return this.transport.path;
  }

  private async readLoop(): Promise<void> {
    while (!this.closed) {
      let chunk: Uint8Array;
      try {
        chunk = await this.transport.read(4096, 500);
      } catch (e) {
        if (e instanceof TransportTimeoutError) continue;
        break; // closed (by us, or the line dropped)
      }
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake?.();
    }
    this.closed = true;
    this.wake?.();
  }

  /** Waits for more input until `deadline` (epoch ms). */
  private async more(deadline: number, command: string): Promise<void> {
    if (this.closed) throw new AtHostError(this.port, command, '', 'port closed');
    const left = deadline - Date.now();
    if (left <= 0) throw new AtHostError(this.port, command, this.pendingText(), 'timed out');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, left);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
    this.wake = null;
  }

  private pendingText(): string {
    return this.buf.subarray(0, 80).toString('latin1').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  }

  /** Drops leading CR/LF; returns a complete line if one is buffered (URCs diverted). */
  private takeLine(): string | null {
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) i++;
      this.buf = this.buf.subarray(i);
      const end = this.buf.indexOf('\r\n');
      if (end < 0) return null;
      const line = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(end + 2);
      if (URC.test(line)) {
        this.log(`urc ${line}`);
        this.urcs.push(line);
        continue;
      }
      return line;
    }
  }

  private async line(deadline: number, command: string): Promise<string> {
    for (;;) {
      const l = this.takeLine();
      if (l !== null) return l;
      await this.more(deadline, command);
    }
  }

  private async write(bytes: string | Uint8Array): Promise<void> {
    await this.transport.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Lines up to the final result; throws on ERROR / +CME ERROR. Echoed command lines are skipped. */
  private async answer(command: string, deadline: number, until = FINAL): Promise<string[]> {
    const info: string[] = [];
    for (;;) {
      const l = await this.line(deadline, command);
      if (l === command) continue; // echo
      if (until.test(l)) {
        if (l === 'OK' || l === 'SEND OK') return info;
        throw new AtHostError(this.port, command, l, `answered ${l}`);
      }
      info.push(l);
    }
  }

  /** Sends one command line and returns its information lines. */
  async command(command: string, timeoutMs = 5000): Promise<string[]> {
    this.log(`> ${command}`);
    await this.write(`${command}\r`);
    return this.answer(command, Date.now() + timeoutMs);
  }

  /** Waits for (and removes) the first queued URC that `match` accepts. */
  async waitUrc(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.urcs.findIndex(match);
      if (i >= 0) return this.urcs.splice(i, 1)[0];
      const l = this.takeLine();
      if (l !== null) {
        this.log(`stray ${l}`);
        continue;
      }
      if (this.urcs.some(match)) continue; // takeLine just queued it
      await this.more(deadline, '(waiting for URC)');
    }
  }

  /** AT+QSSLSEND: waits for the `>` prompt, sends exactly `data`, expects SEND OK. */
  async sslSend(conn: number, data: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const command = `AT+QSSLSEND=${conn},${data.length}`;
    const deadline = Date.now() + timeoutMs;
    this.log(`> ${command} (+${data.length} bytes)`);
    await this.write(`${command}\r`);
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) i++;
      if (i < this.buf.length && this.buf[i] === 0x3e /* > */) {
        this.buf = this.buf.subarray(i + 1);
        if (this.buf[0] === 0x20) this.buf = this.buf.subarray(1);
        break;
      }
      const l = this.takeLine();
      if (l === null) await this.more(deadline, command);
      else if (l !== command && FINAL.test(l))
        throw new AtHostError(this.port, command, l, `answered ${l} instead of the prompt`);
    }
    await this.write(data);
    await this.answer(command, deadline, /^(SEND OK|SEND FAIL|ERROR|\+CME ERROR: .*)$/);
  }

  /** AT+QSSLRECV: whatever the modem has buffered for `conn`, up to `max` bytes. */
  async sslRecv(conn: number, max = 1500, timeoutMs = 5000): Promise<Uint8Array> {
    const command = `AT+QSSLRECV=${conn},${max}`;
    const deadline = Date.now() + timeoutMs;
    this.log(`> ${command}`);
    await this.write(`${command}\r`);
    let n = -1;
    for (;;) {
      const l = await this.line(deadline, command);
      const m = /^\+QSSLRECV: (\d+)$/.exec(l);
      if (m) {
        n = Number(m[1]);
        break;
      }
      if (l !== command && FINAL.test(l))
        throw new AtHostError(this.port, command, l, `answered ${l}`);
    }
    while (this.buf.length < n) await this.more(deadline, command);
    const data = new Uint8Array(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    await this.answer(command, deadline);
    return data;
  }

  /** Stops reading and closes the port (the firmware going into reset, or the attacker leaving). */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.transport.close().catch(() => {});
    await this.pump;
  }
}
