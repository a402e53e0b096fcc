import type { FindingId } from './findings.ts';

/** Where an audit failure happened: the port, the fixture slot, and the probe when known. */
export interface AuditErrorContext {
  readonly port: string;
  readonly slot?: string | number;
  readonly probe?: FindingId;
}

function where(c: AuditErrorContext): string {
  const slot = c.slot !== undefined ? `slot ${c.slot} ` : '';
  const probe = c.probe ? ` probe ${c.probe}` : '';
  return `${slot}(${c.port}) audit${probe}`;
}

/** Base class: the audit could not be completed. */
export class AuditError extends Error {
  override name = 'AuditError';
  readonly port: string;
  readonly slot: string | number | undefined;
  readonly probe: FindingId | undefined;
  constructor(context: AuditErrorContext, detail: string, options?: { cause?: unknown }) {
    super(`${where(context)}: ${detail}`, options);
    this.port = context.port;
    this.slot = context.slot;
    this.probe = context.probe;
  }
}

/**
 * The read-only gate refused a command before a byte of it was written. This is a defect
 * in keyline, never a module answer: the audit only builds commands the gate allows.
 * The message quotes at most the command's name, never its arguments.
 */
export class AuditGateError extends AuditError {
  override name = 'AuditGateError';
  constructor(
    context: AuditErrorContext,
    /** The command name (`AT+QCFG`), arguments cut off. */
    readonly commandName: string,
    reason: string,
  ) {
    super(context, `refused to send ${commandName}: ${reason}`);
  }
}

/** The expectation handed to `auditModem` cannot be audited against (bad context, file name). */
export class AuditInputError extends AuditError {
  override name = 'AuditInputError';
}

/** The module stopped answering, the port closed, or the caller cancelled mid-audit. */
export class AuditAbortedError extends AuditError {
  override name = 'AuditAbortedError';
}
