import { HardwareIdError, normalizeIccid, normalizeImei } from '../../certs/hardware-ids.ts';
import type { AtEngine } from './at-engine.ts';
import {
  ModemCommandError,
  ModemIdentityError,
  ModemUnsupportedError,
  type ModemErrorContext,
} from './errors.ts';

/** Which driver a module needs: file storage (`UFS:`) or 2G secure storage (`NVRAM:`). */
export type ModemFamily = 'lte' | 'lpwa' | '2g';

/** What the module says it is. IMEI and ICCID are in the forms certs/hardware-ids.ts defines. */
export interface ModemIdentity {
  /** First ATI line: `Quectel` (LTE/LPWA) or `Quectel_Ltd` (2G). */
  readonly manufacturer: string;
  /** Model without the `Quectel_` prefix: `EC25`, `BG96`, `M66`. */
  readonly model: string;
  readonly family: ModemFamily;
  /** The `Revision:` value from ATI. */
  readonly revision: string;
  /** `AT+QGMR` (full firmware version), or the revision where the module lacks QGMR. */
  readonly firmware: string;
  /** 15 digits, Luhn-checked. */
  readonly imei: string;
  /** 19–20 characters 0-9/A-F, uppercase, trailing F padding kept. */
  readonly iccid: string;
}

const families: ReadonlyArray<{ family: ModemFamily; pattern: RegExp }> = [
  { family: 'lte', pattern: /^(EC2\d|EG2\d|EG9\d|EM05)/i },
  { family: 'lpwa', pattern: /^(BG95|BG96|BG77)/i },
  { family: '2g', pattern: /^(M66|MC60)/i },
];

/** Parsed ATI: manufacturer, model, revision and the family whose driver fits. */
export interface AtiInfo {
  manufacturer: string;
  model: string;
  revision: string;
  family: ModemFamily;
}

/** Reads ATI's lines; throws ModemUnsupportedError naming what ATI said when no family fits. */
export function parseAti(lines: readonly string[], context: ModemErrorContext): AtiInfo {
  const said = lines.join(' / ') || '(nothing)';
  const revLine = lines.find((l) => /^Revision:/i.test(l));
  const others = lines.filter((l) => l !== revLine);
  const manufacturer = others[0] ?? '';
  const model = (others[1] ?? '').replace(/^Quectel_/i, '').trim();
  const match = families.find((f) => f.pattern.test(model));
  if (!/^Quectel/i.test(manufacturer) || !match) throw new ModemUnsupportedError(context, said);
  const revision = revLine?.replace(/^Revision:\s*/i, '').trim() ?? '';
  if (!revision)
    throw new ModemIdentityError(context, 'revision', said, 'ATI gave no Revision line');
  return { manufacturer, model, revision, family: match.family };
}

export interface IdentityReadOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads model, firmware, IMEI and ICCID; validates the IDs. */
export async function readIdentity(
  engine: AtEngine,
  context: ModemErrorContext,
  o: IdentityReadOptions = {},
): Promise<ModemIdentity> {
  const step = 'identity';
  const co = { step, timeoutMs: o.timeoutMs, signal: o.signal };
  const ati = parseAti((await engine.command('ATI', co)).lines, { ...context, step });

  let firmware = ati.revision;
  try {
    const qgmr = (await engine.command('AT+QGMR', co)).lines.find((l) => l.trim() !== '');
    if (qgmr) firmware = qgmr.replace(/^\+QGMR:\s*/i, '').trim();
  } catch (e) {
    // Firmware without QGMR (some 2G builds) answers ERROR: the ATI revision is all there is.
    if (!(e instanceof ModemCommandError)) throw e;
  }

  const gsn = (await engine.command('AT+GSN', co)).lines;
  const imeiLine = gsn.find((l) => /^\d+$/.test(l.trim())) ?? gsn.join(' / ');
  const imei = validated(() => normalizeImei(imeiLine), { ...context, step }, 'imei', imeiLine);

  const ccid = (await engine.command('AT+QCCID', co)).lines;
  // LTE/LPWA: `+QCCID: <iccid>`; 2G: the ICCID alone. Never parsed as a number.
  const ccidLine =
    ccid.find((l) => /^(\+QCCID:\s*)?[0-9A-Fa-f]{10,}$/.test(l.trim())) ?? ccid.join(' / ');
  const iccidRaw = ccidLine.replace(/^\+QCCID:\s*/i, '');
  const iccid = validated(() => normalizeIccid(iccidRaw), { ...context, step }, 'iccid', ccidLine);

  return {
    manufacturer: ati.manufacturer,
    model: ati.model,
    family: ati.family,
    revision: ati.revision,
    firmware,
    imei,
    iccid,
  };
}

function validated(
  fn: () => string,
  context: ModemErrorContext,
  field: 'imei' | 'iccid',
  answer: string,
): string {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HardwareIdError) {
      const reason = e.message.replace(/^invalid \w+ "[^"]*": /, '');
      throw new ModemIdentityError(context, field, answer || '(nothing)', reason);
    }
    throw e;
  }
}
