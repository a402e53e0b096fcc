import { KEY_READ_MAX_BYTES } from '../command-gate.ts';
import { lineAfter } from './ask.ts';
import {
  clean,
  found,
  inconclusive,
  query,
  quoteAnswer,
  type ProbeEnv,
  type ProbeResult,
} from './probe.ts';

const id = 'key-readable';

/** Quectel file errors that say nothing about readability (protocols.md file error table). */
const notFound = 405;
const tooManyOpen = 413;
const alreadyOpen = 426;

/** True when `read` is the start of `prefix`; constant work over the bytes compared. */
function startsTheKey(read: Uint8Array, prefix: Uint8Array): boolean {
  if (read.length === 0 || prefix.length < read.length) return false;
  let diff = 0;
  for (let i = 0; i < read.length; i++) diff |= read[i] ^ prefix[i];
  return diff === 0;
}

/**
 * Can the client key come back over AT? UFS/RAM: open it read-only, ask for at most 16
 * bytes, close it. The bytes are compared in memory with the start of the key written and
 * zeroed at once; they are never returned, stored or logged. 2G: AT+QSECREAD, whose clean
 * answer is presence and checksum only.
 */
export async function probeKeyReadable(env: ProbeEnv): Promise<ProbeResult> {
  const name = env.expect.keyFileName;
  if (env.expect.family === '2g') return secureStorage(env, name);

  const open = await query(env, `AT+QFOPEN="${name}",2`);
  if (open.kind === 'no-answer') return inconclusive(id, 'high', `AT+QFOPEN: ${open.reason}`);
  if (open.kind === 'refused') {
    if (open.code === notFound)
      return inconclusive(id, 'high', `key file ${name} is not on the module (${open.answer})`);
    if (open.code === alreadyOpen || open.code === tooManyOpen)
      return inconclusive(id, 'high', `could not open ${name} to test it (${open.answer})`);
    // Under AT+CMEE=0 every refusal is a bare ERROR, a missing file included: no verdict.
    if (open.plainError)
      return inconclusive(
        id,
        'high',
        `AT+QFOPEN answered ${open.answer} (no error code to tell a refusal from a missing file)`,
      );
    return clean; // the module will not even open its key file for reading
  }
  const fh = lineAfter(open.response, '+QFOPEN:');
  if (fh === undefined || !/^\d{1,5}$/.test(fh))
    return inconclusive(
      id,
      'high',
      `AT+QFOPEN gave no file handle ("${quoteAnswer(open.response.lines.join(' / '))}")`,
    );

  let result: ProbeResult;
  try {
    result = await readFirstBytes(env, name, fh);
  } finally {
    // Release the handle on every path; a failure here cannot change what was learned.
    await query(env, `AT+QFCLOSE=${fh}`).catch(() => undefined);
  }
  return result;
}

async function readFirstBytes(env: ProbeEnv, name: string, fh: string): Promise<ProbeResult> {
  const read = await query(env, `AT+QFREAD=${fh},${KEY_READ_MAX_BYTES}`, KEY_READ_MAX_BYTES);
  if (read.kind === 'refused') return clean;
  if (read.kind === 'no-answer') return inconclusive(id, 'high', `AT+QFREAD: ${read.reason}`);
  const data = read.response.data;
  if (!data || data.length === 0)
    return inconclusive(id, 'high', `AT+QFREAD of ${name} returned no bytes`);
  const prefix = env.expect.keyPrefix
    ? Uint8Array.from(env.expect.keyPrefix.subarray(0, KEY_READ_MAX_BYTES))
    : undefined;
  const n = data.length;
  try {
    const verdict =
      prefix === undefined
        ? 'no key was given to compare them with'
        : startsTheKey(data, prefix)
          ? 'they match the key written'
          : 'they differ from the key written';
    return found(
      id,
      'high',
      `client key file ${name} can be read back over AT: AT+QFREAD returned ${n} bytes; ${verdict}`,
    );
  } finally {
    data.fill(0);
    prefix?.fill(0);
  }
}

async function secureStorage(env: ProbeEnv, name: string): Promise<ProbeResult> {
  const r = await query(env, `AT+QSECREAD="${name}"`);
  if (r.kind === 'no-answer') return inconclusive(id, 'high', `AT+QSECREAD: ${r.reason}`);
  if (r.kind === 'refused') return inconclusive(id, 'high', `AT+QSECREAD answered ${r.answer}`);
  const rest = lineAfter(r.response, '+QSECREAD:');
  const m = rest === undefined ? null : /^([01])\s*,\s*([0-9A-Fa-f]{1,4})$/.exec(rest);
  const extra = r.response.lines.filter((l) => !/^\+QSECREAD:/i.test(l.trim()) && l.trim() !== '');
  if (r.response.data?.length || extra.length > 0) {
    r.response.data?.fill(0);
    return found(id, 'high', `AT+QSECREAD returned more than presence and checksum for ${name}`);
  }
  if (!m) return inconclusive(id, 'high', `AT+QSECREAD answer not understood`);
  if (m[1] === '0') return inconclusive(id, 'high', `key ${name} is not in secure storage`);
  return clean;
}
