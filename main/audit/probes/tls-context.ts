import { normalizeValue, splitFields } from '../../modem/tls-config.ts';
import { lineAfter } from './ask.ts';
import { clean, found, inconclusive, query, type ProbeEnv, type ProbeResult } from './probe.ts';

const id = 'tls-context';

/**
 * The query form of each setting that decides whether the context authenticates both
 * ends with the files just written: seclevel 2 (verify the server, present a client
 * certificate), sslversion 3 (TLS 1.2 only; 4 = "all" also allows TLS 1.0/1.1; Quectel
 * documents no TLS 1.3 value, so none is accepted), and the three file settings.
 */
export async function probeTlsContext(env: ProbeEnv): Promise<ProbeResult> {
  const ctx = env.expect.tlsContext;
  const wanted: ReadonlyArray<readonly [item: string, value: string]> = [
    ['seclevel', '2'],
    ['sslversion', '3'],
    ['cacert', env.expect.caFile],
    ['clientcert', env.expect.certFile],
    ['clientkey', env.expect.keyFile],
  ];
  const wrong: string[] = [];
  const unread: string[] = [];
  for (const [item, value] of wanted) {
    const r = await query(env, `AT+QSSLCFG="${item}",${ctx}`);
    if (r.kind !== 'answer') {
      unread.push(`${item} unreadable (${r.kind === 'refused' ? r.answer : r.reason})`);
      continue;
    }
    const rest = lineAfter(r.response, '+QSSLCFG:');
    const fields = rest === undefined ? [] : splitFields(rest);
    if (fields.length < 3 || normalizeValue(fields[0]) !== item.toUpperCase()) {
      unread.push(`${item} answer not understood`);
      continue;
    }
    const got = fields.at(-1) ?? '';
    if (normalizeValue(got) !== normalizeValue(value))
      wrong.push(`${item} is ${got === '' ? '(empty)' : got}, expected ${value}`);
  }
  if (wrong.length === 0 && unread.length === 0) return clean;
  const detail = `TLS context ${ctx}: ${[...wrong, ...unread].join('; ')}`;
  return wrong.length > 0 ? found(id, 'high', detail) : inconclusive(id, 'high', detail);
}
