/**
 * Typed failures of the modem layer. Every one names the port, and where known the slot,
 * the step and the command; none ever carries file contents (commands carry no secrets:
 * key material only travels in data phases, which are never logged or quoted).
 */
export interface ModemErrorContext {
  port: string;
  slot?: string | number;
  step?: string;
  command?: string;
}

function where(c: ModemErrorContext): string {
  const slot = c.slot !== undefined ? `slot ${c.slot} ` : '';
  const step = c.step ? ` ${c.step}` : '';
  return `${slot}(${c.port})${step}`;
}

export class ModemError extends Error {
  override name = 'ModemError';
  readonly port: string;
  readonly slot: string | number | undefined;
  readonly step: string | undefined;
  readonly command: string | undefined;
  constructor(context: ModemErrorContext, detail: string, options?: { cause?: unknown }) {
    super(`${where(context)}: ${detail}`, options);
    this.port = context.port;
    this.slot = context.slot;
    this.step = context.step;
    this.command = context.command;
  }
}

/** The module answered `ERROR`, `+CME ERROR: n` or `+CMS ERROR: n`. */
export class ModemCommandError extends ModemError {
  override name = 'ModemCommandError';
  override readonly command: string;
  constructor(
    context: ModemErrorContext & { command: string },
    /** The final result line exactly as the module sent it. */
    readonly answer: string,
    readonly kind: 'ERROR' | 'CME' | 'CMS',
    /** Numeric code (undefined for a bare `ERROR` or a verbose text answer). */
    readonly code: number | undefined,
    /** Readable meaning. */
    readonly text: string,
  ) {
    super(context, `${context.command} → ${answer}${code !== undefined ? ` (${text})` : ''}`);
    this.command = context.command;
  }
}

/** No final result within the command's timeout (the engine resyncs afterwards). */
export class ModemTimeoutError extends ModemError {
  override name = 'ModemTimeoutError';
  constructor(
    context: ModemErrorContext,
    /** What was awaited: 'answer', 'CONNECT', 'prompt', 'ack', 'result'. */
    readonly waitingFor: string,
    readonly timeoutMs: number,
    /** The last lines received for this command, for the operator. */
    readonly lastLines: readonly string[] = [],
  ) {
    super(
      context,
      `${context.command ?? 'command'}: no ${waitingFor} within ${timeoutMs} ms` +
        (lastLines.length ? ` (got: ${lastLines.join(' | ')})` : ''),
    );
  }
}

/** The port went away (unplugged, closed) while talking to the module. */
export class ModemClosedError extends ModemError {
  override name = 'ModemClosedError';
  constructor(context: ModemErrorContext, detail = 'port closed (module unplugged?)') {
    super(context, `${context.command ? context.command + ': ' : ''}${detail}`);
  }
}

/** The byte stream made no sense: a garbage line, an over-long line, an unexpected token. */
export class ModemProtocolError extends ModemError {
  override name = 'ModemProtocolError';
  constructor(
    context: ModemErrorContext,
    readonly reason: 'garbage' | 'overflow' | 'unexpected' | 'malformed',
    detail: string,
  ) {
    super(context, `${context.command ? context.command + ': ' : ''}${detail}`);
  }
}

/** A line exceeded the engine's cap (input dropped up to its end, then resynced). */
export class ModemLineOverflowError extends ModemProtocolError {
  override name = 'ModemLineOverflowError';
  constructor(
    context: ModemErrorContext,
    readonly maxLineLength: number,
  ) {
    super(context, 'overflow', `a line from the module exceeded ${maxLineLength} bytes`);
  }
}

/** `AT` never got `OK` back within the bounded resync. */
export class ModemResyncError extends ModemError {
  override name = 'ModemResyncError';
  constructor(
    context: ModemErrorContext,
    readonly attempts: number,
  ) {
    super(context, `module does not answer AT with OK after ${attempts} attempts`);
  }
}

/** ATI named a module no driver here supports. */
export class ModemUnsupportedError extends ModemError {
  override name = 'ModemUnsupportedError';
  constructor(
    context: ModemErrorContext,
    /** What ATI said, lines joined with ' / '. */
    readonly ati: string,
  ) {
    super(
      context,
      `unsupported module: ATI said "${ati}" (supported: EC2x/EG2x/EG9x/EM05, BG95/BG96/BG77, M66/MC60)`,
    );
  }
}

/** An identity answer was missing or invalid (IMEI Luhn, ICCID form). */
export class ModemIdentityError extends ModemError {
  override name = 'ModemIdentityError';
  constructor(
    context: ModemErrorContext,
    readonly field: 'model' | 'revision' | 'imei' | 'iccid',
    readonly answer: string,
    reason: string,
  ) {
    super(context, `${field}: ${reason} (module answered "${answer}")`);
  }
}

/** The module reported a different size/checksum than the bytes sent, after all retries. */
export class ModemVerifyError extends ModemError {
  override name = 'ModemVerifyError';
  constructor(
    context: ModemErrorContext,
    readonly file: string,
    readonly expected: { size: number; checksum: string },
    readonly reported: { size: number | undefined; checksum: string | undefined },
    readonly attempts: number,
  ) {
    super(
      context,
      `${file}: module reports size ${reported.size ?? '?'} checksum ${reported.checksum ?? '?'}, ` +
        `expected size ${expected.size} checksum ${expected.checksum} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
    );
  }
}

/** Not enough room in the module's storage for the credentials. */
export class ModemStorageError extends ModemError {
  override name = 'ModemStorageError';
  constructor(
    context: ModemErrorContext,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(context, `module storage full: need ${neededBytes} bytes, ${freeBytes} free`);
  }
}

/** A TLS context setting read back differs from what was written. */
export class ModemConfigMismatchError extends ModemError {
  override name = 'ModemConfigMismatchError';
  constructor(
    context: ModemErrorContext,
    readonly ctx: number,
    readonly item: string,
    readonly expected: string,
    readonly reported: string | undefined,
  ) {
    super(
      context,
      `TLS context ${ctx} "${item}" reads back ${reported ?? '(nothing)'}, expected ${expected}`,
    );
  }
}

/** The caller's input cannot be written (not PEM, not ASCII, bad context number). */
export class ModemInputError extends ModemError {
  override name = 'ModemInputError';
}
