/**
 * Pure, total tokenizer for the module's output. Bytes go in chunk by chunk; tokens come
 * out one at a time. It never throws on input and never holds more than one partial line
 * (capped at `maxLineLength`) plus the unread part of the last chunk.
 *
 * Line terminators are CR and LF in any combination; empty lines are skipped (the module
 * frames every line as `\r\n<text>\r\n`). Two single-byte tokens exist only when the
 * caller arms them, because they are indistinguishable from text otherwise: the `>` send
 * prompt and the `A` upload acknowledgements of `AT+QFUPL` ackmode 1.
 */
export type AtToken =
  | { readonly kind: 'line'; readonly text: string }
  /** A line holding bytes that no AT answer contains (control characters, 8-bit). */
  | { readonly kind: 'garbage'; readonly text: string }
  /** A line longer than the cap; its bytes up to the next terminator are dropped. */
  | { readonly kind: 'overflow'; readonly dropped: number }
  | { readonly kind: 'prompt' }
  | { readonly kind: 'ack' };

export interface NextOptions {
  /** Take a `>` at the start of a line as the send prompt. */
  prompt?: boolean;
  /** Take an `A` at the start of a line as one upload acknowledgement. */
  acks?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

export class AtLineSplitter {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Start of the current (partial) line within buf. */
  private lineStart = 0;
  /** Skipping an over-long line until its terminator. */
  private discarding = false;
  /** A CR just ended a line, so one LF right after it belongs to the same terminator. */
  private swallowLf = false;

  constructor(readonly maxLineLength = 4096) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 16)
      throw new RangeError(`maxLineLength must be an integer >= 16, got ${maxLineLength}`);
  }

  /** Bytes held: the partial line plus whatever has not been tokenized yet. */
  get buffered(): number {
    return this.buf.length - this.lineStart;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const keep = this.buf.subarray(this.lineStart);
    const next = new Uint8Array(keep.length + chunk.length);
    next.set(keep, 0);
    next.set(chunk, keep.length);
    this.pos -= this.lineStart;
    this.lineStart = 0;
    this.buf = next;
  }

  /** Forgets everything buffered (after a resync the old bytes mean nothing). */
  reset(): void {
    this.buf = new Uint8Array(0);
    this.pos = 0;
    this.lineStart = 0;
    this.discarding = false;
    this.swallowLf = false;
  }

  /**
   * Takes up to `max` raw bytes (a data phase after `CONNECT`). Any partial line is given
   * back as raw data too: in a data phase nothing is a line.
   */
  takeRaw(max: number): Uint8Array {
    // The LF of the CONNECT line's CR LF may not have arrived yet: keep waiting to drop it.
    if (this.swallowLf && this.lineStart < this.buf.length) {
      if (this.buf[this.lineStart] === LF) this.lineStart++;
      this.swallowLf = false;
    }
    if (this.swallowLf) return new Uint8Array(0);
    const n = Math.max(0, Math.min(max, this.buf.length - this.lineStart));
    const out = this.buf.slice(this.lineStart, this.lineStart + n);
    this.lineStart += n;
    this.pos = this.lineStart;
    this.discarding = false;
    return out;
  }

  /** The next complete token, or undefined when more bytes are needed. */
  next(opts: NextOptions = {}): AtToken | undefined {
    const buf = this.buf;
    while (this.pos < buf.length) {
      const b = buf[this.pos];
      if (this.swallowLf) {
        this.swallowLf = false;
        if (b === LF) {
          this.pos++;
          this.lineStart = this.pos;
          continue;
        }
      }
      if (b === CR || b === LF) {
        const start = this.lineStart;
        const end = this.pos;
        this.pos++;
        this.lineStart = this.pos;
        this.swallowLf = b === CR;
        if (this.discarding) {
          this.discarding = false;
          continue;
        }
        if (end === start) continue;
        const tok = lineToken(buf.subarray(start, end));
        if (tok) return tok;
        continue;
      }
      if (this.discarding) {
        this.pos++;
        continue;
      }
      if (this.pos === this.lineStart) {
        if (opts.prompt && b === 0x3e /* > */) {
          this.pos++;
          // The prompt is `> ` with a space; take the space when it is already here.
          if (this.pos < buf.length && buf[this.pos] === 0x20) this.pos++;
          this.lineStart = this.pos;
          return { kind: 'prompt' };
        }
        if (opts.acks && b === 0x41 /* A */) {
          this.pos++;
          this.lineStart = this.pos;
          return { kind: 'ack' };
        }
      }
      this.pos++;
      if (this.pos - this.lineStart > this.maxLineLength) {
        // Report at once (the caller resyncs); drop the rest of the line up to its end.
        const dropped = this.pos - this.lineStart;
        this.discarding = true;
        this.dropConsumed();
        return { kind: 'overflow', dropped };
      }
    }
    if (this.discarding) this.dropConsumed();
    return undefined;
  }

  /** Forgets the bytes before `pos` (only ever the over-long line being skipped). */
  private dropConsumed(): void {
    this.buf = this.buf.slice(this.pos);
    this.pos = 0;
    this.lineStart = 0;
  }
}

function lineToken(bytes: Uint8Array): AtToken | undefined {
  let garbage = false;
  let text = '';
  for (const b of bytes) {
    if ((b < 0x20 && b !== 0x09) || b >= 0x7f) garbage = true;
    text += String.fromCharCode(b);
  }
  const trimmed = text.trim();
  if (garbage) return { kind: 'garbage', text: printable(trimmed) };
  if (trimmed === '') return undefined;
  return { kind: 'line', text: trimmed };
}

/** A garbage line rendered safely for an error message (escaped, shortened). */
export function printable(text: string, max = 80): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c < 0x7f ? ch : `\\x${c.toString(16).padStart(2, '0')}`;
    if (out.length >= max) return out.slice(0, max) + '…';
  }
  return out;
}
