import type { PipelineEvent, SlotFailure, SlotSuccess } from './events.ts';

/**
 * How a batch looks on a terminal: one line per slot redrawn in place on a TTY, plain
 * lines for each state change on a pipe or log file, or JSON lines with `--json`.
 */
export type ViewMode = 'tty' | 'plain' | 'json';

export interface ProgressView {
  onEvent(event: PipelineEvent): void;
  /** Draws the final state and stops any redraw timer. */
  finish(): void;
}

interface Writer {
  write(s: string): unknown;
  columns?: number;
}

interface SlotLine {
  slot: string;
  state: string;
  percent: number;
  message: string;
  result?: SlotSuccess;
  failure?: SlotFailure;
}

/** Picks the view for a CLI invocation. */
export function viewModeFor(json: boolean, out: { isTTY?: boolean }): ViewMode {
  if (json) return 'json';
  return out.isTTY ? 'tty' : 'plain';
}

export function createProgressView(mode: ViewMode, out: Writer): ProgressView {
  if (mode === 'json') return jsonView(out);
  if (mode === 'plain') return plainView(out);
  return ttyView(out);
}

/** Every event as a JSON line; progress ticks thinned to a few per second per slot. */
function jsonView(out: Writer): ProgressView {
  const lastTick = new Map<string, number>();
  return {
    onEvent(e) {
      if (e.type === 'progress') {
        const now = Date.now();
        const key = `${e.slot}/${e.step}`;
        const last = lastTick.get(key) ?? 0;
        const edge = e.stepPercent === 0 || e.stepPercent === 100;
        if (!edge && now - last < 250) return;
        lastTick.set(key, now);
      }
      out.write(JSON.stringify(e) + '\n');
    },
    finish() {},
  };
}

function plainView(out: Writer): ProgressView {
  return {
    onEvent(e) {
      const line = plainLine(e);
      if (line) out.write(line + '\n');
    },
    finish() {},
  };
}

/** The line a non-TTY log gets for an event, or undefined for progress ticks. */
export function plainLine(e: PipelineEvent): string | undefined {
  switch (e.type) {
    case 'batch-start':
      return `batch ${e.batch}: ${e.slots.length} slot(s), profile ${e.profile}`;
    case 'recovered':
      return `recovered: intent #${e.intentIndex} (${e.deviceId}) closed by abort #${e.abortIndex}: station crashed during ${e.crashedDuring}; serials ${e.revokedSerials.join(', ')} revoked`;
    case 'state':
      return e.to === 'passed' || e.to === 'failed' || e.to === 'idle'
        ? undefined
        : `slot ${e.slot}: ${e.to}`;
    case 'identified':
      return `slot ${e.slot}: ${e.identity.modemModel} IMEI ${e.identity.imei} ICCID ${e.identity.iccid}, STM32${e.identity.mcuFamily} UID ${e.identity.mcuUid} → ${e.identity.deviceId}`;
    case 'log':
      return `slot ${e.slot}: ${e.level === 'warn' ? 'warning: ' : ''}${e.message}`;
    case 'pass':
      return `slot ${e.slot}: PASS ${e.result.identity.deviceId} in ${seconds(e.result.elapsedMs)} (commit #${e.result.commitIndex})`;
    case 'fail':
      return `slot ${e.slot}: FAIL at ${e.failure.step}: ${e.failure.reason}${e.failure.deviceAnswered ? ` [device: ${e.failure.deviceAnswered}]` : ''}`;
    case 'batch-end':
      return `batch ${e.batch}: ${e.passed} passed, ${e.failed} failed in ${seconds(e.elapsedMs)}`;
    case 'progress':
      return undefined;
  }
}

function ttyView(out: Writer): ProgressView {
  const lines = new Map<string, SlotLine>();
  const notes: string[] = [];
  let drawn = 0;
  let dirty = false;
  let finished = false;
  const draw = () => {
    dirty = false;
    const width = Math.max(40, (out.columns || 100) - 1);
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const n of notes.splice(0)) s += `\r\x1b[2K${n.slice(0, width)}\n`;
    const rows = [...lines.values()].map((l) => ttyRow(l).slice(0, width));
    for (const r of rows) s += `\r\x1b[2K${r}\n`;
    drawn = rows.length;
    out.write(s);
  };
  const timer = setInterval(() => dirty && draw(), 100);
  timer.unref();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'batch-start':
          for (const slot of e.slots)
            lines.set(slot, { slot, state: 'waiting', percent: 0, message: '' });
          notes.push(plainLine(e)!);
          break;
        case 'recovered':
        case 'batch-end':
          notes.push(plainLine(e)!);
          break;
        case 'log':
          if (e.level === 'warn') notes.push(plainLine(e)!);
          break;
        default: {
          const l = lines.get(e.slot) ?? { slot: e.slot, state: 'idle', percent: 0, message: '' };
          lines.set(e.slot, l);
          if (e.type === 'state') l.state = e.to;
          else if (e.type === 'progress') {
            l.percent = e.totalPercent;
            l.message = e.message;
          } else if (e.type === 'identified') l.message = e.identity.deviceId;
          else if (e.type === 'pass') l.result = e.result;
          else if (e.type === 'fail') l.failure = e.failure;
        }
      }
      dirty = true;
      if (e.type === 'pass' || e.type === 'fail' || e.type === 'batch-end') draw();
    },
    finish() {
      clearInterval(timer);
      if (dirty || !finished) draw();
      finished = true;
    },
  };
}

function ttyRow(l: SlotLine): string {
  const name = `slot ${l.slot}`.padEnd(9);
  if (l.result)
    return `${name} PASS ${bar(100)} ${l.result.identity.deviceId} ${seconds(l.result.elapsedMs)}`;
  if (l.failure) return `${name} FAIL at ${l.failure.step}: ${l.failure.reason}`;
  return `${name} ${l.state.padEnd(15)} ${bar(l.percent)} ${String(Math.round(l.percent)).padStart(3)}% ${l.message}`;
}

function bar(percent: number): string {
  const n = Math.round(Math.min(100, Math.max(0, percent)) / 5);
  return `[${'#'.repeat(n)}${'.'.repeat(20 - n)}]`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
