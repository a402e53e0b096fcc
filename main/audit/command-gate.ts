import type { AtEngine, AtResponse } from '../modem/at-engine.ts';
import { AuditGateError, type AuditErrorContext } from './errors.ts';
import type { FindingId } from './findings.ts';

/** A module file name as the profile allows it (no quote, comma or CR can hide in one). */
const fileName = '[A-Za-z0-9_.-]{1,64}';

/** One command shape the audit may send; `pattern` matches the whole command line. */
export interface CommandShape {
  readonly name: string;
  readonly pattern: RegExp;
  /** Only AT+QFREAD may take a data phase, and only this many bytes. */
  readonly maxDataBytes?: number;
}

/** The most key bytes the audit ever asks for. */
export const KEY_READ_MAX_BYTES = 16;

/**
 * Every command line the audit may send, exactly. Query, test and read-only forms only:
 * nothing here changes the module (QFOPEN mode 2 opens an existing file read-only; QFREAD
 * asks for at most 16 bytes; QFCLOSE releases the handle QFOPEN gave).
 */
export const READ_ONLY_COMMAND_SHAPES: readonly CommandShape[] = [
  { name: 'ATI', pattern: /^ATI$/ },
  { name: 'AT+QGMR', pattern: /^AT\+QGMR$/ },
  { name: 'AT+QLINUXCMD=?', pattern: /^AT\+QLINUXCMD=\?$/ },
  { name: 'AT+QADBKEY?', pattern: /^AT\+QADBKEY\?$/ },
  { name: 'AT+QCFG="usbcfg"', pattern: /^AT\+QCFG="usbcfg"$/ },
  { name: 'AT+QFOPEN', pattern: new RegExp(`^AT\\+QFOPEN="(?:UFS:|RAM:)?${fileName}",2$`) },
  {
    name: 'AT+QFREAD',
    pattern: /^AT\+QFREAD=\d{1,5},(?:[1-9]|1[0-6])$/,
    maxDataBytes: KEY_READ_MAX_BYTES,
  },
  { name: 'AT+QFCLOSE', pattern: /^AT\+QFCLOSE=\d{1,5}$/ },
  { name: 'AT+QSECREAD', pattern: new RegExp(`^AT\\+QSECREAD="(?:NVRAM|RAM):${fileName}"$`) },
  {
    name: 'AT+QSSLCFG (query)',
    pattern: /^AT\+QSSLCFG="(?:seclevel|sslversion|cacert|clientcert|clientkey)",[0-5]$/,
  },
];

/** The shape a command line fits, or undefined when the gate would refuse it. */
export function readOnlyShapeOf(command: string): CommandShape | undefined {
  return READ_ONLY_COMMAND_SHAPES.find((s) => s.pattern.test(command));
}

/** True when the gate would send `command`. */
export function isReadOnlyCommand(command: string): boolean {
  return readOnlyShapeOf(command) !== undefined;
}

/** `AT+QCFG="usbcfg",…` → `AT+QCFG`: a name safe to put in an error message. */
function commandName(command: string): string {
  const m = /^AT[+&#$%^*]?[A-Z0-9]*/i.exec(command);
  return (m?.[0] || command.slice(0, 2)).slice(0, 24) || '(empty)';
}

export interface GateOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The only way the audit talks to the module. Each command line is checked against
 * READ_ONLY_COMMAND_SHAPES and refused with AuditGateError before anything is written.
 * (The engine's own recovery after a timeout writes `\r` and `AT`, which change nothing.)
 * Records what each probe sent.
 */
export class ReadOnlyCommandGate {
  private sent: string[] = [];
  private probe: FindingId | undefined;

  constructor(
    private readonly engine: AtEngine,
    private readonly context: Omit<AuditErrorContext, 'probe'>,
    private readonly options: GateOptions,
  ) {}

  /** Starts recording the command lines sent for `probe` (named in errors too). */
  beginProbe(probe: FindingId): void {
    this.probe = probe;
    this.sent = [];
  }

  /** The command lines sent since `beginProbe`. */
  endProbe(): string[] {
    const out = this.sent;
    this.sent = [];
    this.probe = undefined;
    return out;
  }

  get currentProbe(): FindingId | undefined {
    return this.probe;
  }

  /**
   * Sends one read-only command. `dataBytes` accepts a data phase of at most that many
   * bytes, for the shapes that allow one.
   */
  async command(command: string, dataBytes?: number): Promise<AtResponse> {
    const ctx = { ...this.context, probe: this.probe };
    const shape = readOnlyShapeOf(command);
    if (!shape)
      throw new AuditGateError(ctx, commandName(command), 'not a read-only audit command');
    if (
      dataBytes !== undefined &&
      (shape.maxDataBytes === undefined || dataBytes > shape.maxDataBytes)
    )
      throw new AuditGateError(
        ctx,
        commandName(command),
        `a data phase of ${dataBytes} bytes is not allowed`,
      );
    this.sent.push(command);
    return this.engine.command(command, {
      timeoutMs: this.options.timeoutMs,
      signal: this.options.signal,
      step: `audit:${this.probe ?? 'none'}`,
      data: dataBytes !== undefined ? { maxLength: dataBytes } : undefined,
    });
  }
}
