import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDevelopmentCa,
  createFileSigner,
  pemEncode,
  type DevelopmentCa,
  type HardwareIds,
  type Issuer,
} from '../../certs/index.ts';

/** The documented example board (docs/device-identity.md). */
export const BOARD: HardwareIds = {
  imei: '490154203237518',
  iccid: '8944500102198304826F',
  mcuUid: '3a0021000b51333233353530',
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with a generous timeout (the machine is shared); never throws on exit code. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export function openssl(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run('openssl', args, { cwd, ...(env ? { env } : {}) });
}

/** Like openssl() but fails the test with openssl's own message on a non-zero exit. */
export async function opensslOk(
  args: string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  const r = await openssl(args, cwd, env);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout + r.stderr;
}

export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `keyline-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An in-memory dev CA plus an Issuer over its issuing key; PEM files written to `dir`. */
export async function devCa(
  dir: string,
  org = 'Acme',
): Promise<{ ca: DevelopmentCa; issuer: Issuer }> {
  const ca = await createDevelopmentCa({ org });
  writeFileSync(join(dir, 'root.pem'), pemEncode('CERTIFICATE', ca.root.certificateDer));
  writeFileSync(join(dir, 'issuing.pem'), pemEncode('CERTIFICATE', ca.issuing.certificateDer));
  const issuer = {
    certificateDer: ca.issuing.certificateDer,
    signer: createFileSigner(
      { ...ca.issuing.key, secret: ca.issuing.key.secret.slice() },
      'memory:test-issuing',
    ),
  };
  return { ca, issuer };
}

/**
 * A customer CA made entirely by the openssl CLI: root + issuing CA, the issuing key
 * encrypted as PKCS#8 PBES2 with `keyPass`. Files: cust-root.pem, cust-issuing.pem,
 * cust-issuing.enc.pem, plus a leaf (non-CA) cert/key pair cust-leaf.pem / cust-leaf.enc.pem.
 */
export async function opensslCustomerCa(dir: string, keyPass: string): Promise<void> {
  writeFileSync(
    join(dir, 'ext.cnf'),
    [
      '[ca]',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      '[leaf]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      '',
    ].join('\n'),
  );
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await opensslOk(['genpkey', ...ec, '-out', 'cust-root.key'], dir);
  await opensslOk(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'cust-root.key',
      '-subj',
      '/O=Customer/CN=Customer Root',
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'cust-root.pem',
    ],
    dir,
  );
  for (const [name, subj, sect] of [
    ['cust-issuing', '/O=Customer/CN=Customer Issuing CA', 'ca'],
    ['cust-leaf', '/O=Customer/CN=not a CA', 'leaf'],
  ] as const) {
    await opensslOk(['genpkey', ...ec, '-out', `${name}.key`], dir);
    await opensslOk(
      ['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`],
      dir,
    );
    await opensslOk(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'cust-root.pem',
        '-CAkey',
        'cust-root.key',
        '-CAcreateserial',
        '-days',
        '3000',
        '-sha256',
        '-extfile',
        'ext.cnf',
        '-extensions',
        sect,
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
    await opensslOk(
      [
        'pkcs8',
        '-topk8',
        '-v2',
        'aes-256-cbc',
        '-in',
        `${name}.key`,
        '-passout',
        `pass:${keyPass}`,
        '-out',
        `${name}.enc.pem`,
      ],
      dir,
    );
  }
}
