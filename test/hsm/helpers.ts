import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runKeyline, type ExecResult } from '../helpers/exec.ts';

export { exec, REPO, type ExecResult } from '../helpers/exec.ts';

/** `node bin/keyline.mjs ...` with the given environment additions (no inherited PIN or passphrase). */
export function keyline(args: string[], env: NodeJS.ProcessEnv): Promise<ExecResult> {
  const base = { ...process.env };
  delete base.KEYLINE_PIN;
  delete base.KEYLINE_PASSPHRASE;
  return runKeyline(args, { env: { ...base, ...env } });
}

/** Every regular file under `dir` (recursively), skipping directories named in `skip`. */
export function filesUnder(dir: string, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (!skip.includes(p)) out.push(...filesUnder(p, skip));
    } else if (st.isFile()) out.push(p);
  }
  return out;
}

// PEM labels of private keys, and DER openings of a P-256 private key: PKCS#8 (version 0,
// id-ecPublicKey + prime256v1) and SEC1 ECPrivateKey (version 1, 32-byte scalar).
const PEM_MARKERS = ['PRIVATE KEY-----'];
const DER_PREFIXES = [
  Buffer.from('020100301306072a8648ce3d020106082a8648ce3d030107', 'hex'),
  Buffer.from('30770201010420', 'hex'),
];

/** True when `bytes` hold a private key in PEM or PKCS#8/SEC1 DER form (also as base64). */
export function holdsPrivateKey(bytes: Buffer): boolean {
  const text = bytes.toString('latin1');
  if (PEM_MARKERS.some((m) => text.includes(m))) return true;
  const b64 = [...text.matchAll(/[A-Za-z0-9+/=\r\n]{60,}/g)].map((m) =>
    Buffer.from(m[0].replace(/\s/g, ''), 'base64'),
  );
  return [bytes, ...b64].some((b) => DER_PREFIXES.some((p) => b.includes(p)));
}

/** Files among `files` holding a private key in PEM or PKCS#8/SEC1 DER form. */
export function filesWithPrivateKeys(files: readonly string[]): string[] {
  return files.filter((f) => holdsPrivateKey(readFileSync(f)));
}
