import type { AtEngine } from './at-engine.ts';
import { ModemConfigMismatchError, ModemProtocolError, type ModemErrorContext } from './errors.ts';
import type { ModemFamily } from './identity.ts';

/** The three credential files a TLS context points at. */
export type CredentialRole = 'cacert' | 'clientcert' | 'clientkey';
export const CREDENTIAL_ROLES: readonly CredentialRole[] = ['cacert', 'clientcert', 'clientkey'];

/** One `AT+QSSLCFG` item: how to set it, how to query it, what the query must show. */
export interface TlsSetting {
  readonly item: string;
  readonly set: string;
  readonly query: string;
  readonly expected: string;
}

/**
 * The mutual-TLS settings keyline writes (protocols.md, TLS context): the three files,
 * seclevel 2 (server + client authentication), TLS 1.2 only, all cipher suites, and
 * certificate validity not checked against the module clock (it is not set in the
 * factory). 2G spells the last one `ignorertctime` with no context index.
 */
export function tlsSettings(
  family: ModemFamily,
  ctx: number,
  names: Readonly<Record<CredentialRole, string>>,
): TlsSetting[] {
  const withCtx = (item: string, value: string): TlsSetting => ({
    item,
    set: `AT+QSSLCFG="${item}",${ctx},${value}`,
    query: `AT+QSSLCFG="${item}",${ctx}`,
    expected: value,
  });
  const out = [
    ...CREDENTIAL_ROLES.map((r) => withCtx(r, `"${names[r]}"`)),
    withCtx('seclevel', '2'),
    withCtx('sslversion', '3'),
    withCtx('ciphersuite', '0xFFFF'),
  ];
  if (family === '2g')
    out.push({
      item: 'ignorertctime',
      set: 'AT+QSSLCFG="ignorertctime",1',
      query: 'AT+QSSLCFG="ignorertctime"',
      expected: '1',
    });
  else out.push(withCtx('ignorelocaltime', '1'));
  return out;
}

export interface TlsIo {
  engine: AtEngine;
  context: ModemErrorContext;
  signal?: AbortSignal;
}

export async function applyTlsSettings(io: TlsIo, settings: readonly TlsSetting[]): Promise<void> {
  for (const s of settings)
    await io.engine.command(s.set, { step: 'configure', signal: io.signal });
}

/**
 * Queries every setting and returns item → value as the module reports it. With
 * `compare`, the first value that differs from what keyline wrote fails with
 * ModemConfigMismatchError.
 */
export async function readTlsSettings(
  io: TlsIo,
  settings: readonly TlsSetting[],
  ctx: number,
  compare: boolean,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of settings) {
    const res = await io.engine.command(s.query, { step: 'readback', signal: io.signal });
    const line = res.lines.find((l) => /^\+QSSLCFG:/i.test(l));
    if (!line)
      throw new ModemProtocolError(
        { ...io.context, step: 'readback', command: s.query },
        'malformed',
        'no +QSSLCFG line in the answer',
      );
    const fields = splitFields(line.replace(/^\+QSSLCFG:\s*/i, ''));
    const value = fields.at(-1) ?? '';
    out[s.item] = unquote(value);
    if (compare && normalizeValue(value) !== normalizeValue(s.expected))
      throw new ModemConfigMismatchError(
        { ...io.context, step: 'readback', command: s.query },
        ctx,
        s.item,
        s.expected,
        value,
      );
  }
  return out;
}

/** Splits `"a,b",0,"c"` on commas outside quotes. */
export function splitFields(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function unquote(v: string): string {
  return v.trim().replace(/^"(.*)"$/, '$1');
}

/**
 * Compares settings as values, not spellings: quotes, case, a `UFS:` prefix (the default
 * storage) and hex notation (`0XFFFF` vs `0xffff`) do not matter.
 */
export function normalizeValue(v: string): string {
  const u = unquote(v).toUpperCase().replace(/^UFS:/, '');
  if (/^0X[0-9A-F]+$/.test(u)) return String(Number.parseInt(u.slice(2), 16));
  return u;
}
