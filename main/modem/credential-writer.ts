import { formatChecksum, quectelChecksum } from './checksum.ts';
import { FileError } from './error-codes.ts';
import {
  ModemCommandError,
  ModemInputError,
  ModemVerifyError,
  type ModemErrorContext,
} from './errors.ts';
import type { FileStore, PlannedFile, ReportedFile, StoreIo } from './file-store.ts';
import type { ModemFamily } from './identity.ts';
import { pemToModemBytes } from './pem.ts';
import { setUpSession } from './session.ts';
import {
  CREDENTIAL_ROLES,
  applyTlsSettings,
  normalizeValue,
  readTlsSettings,
  tlsSettings,
  type CredentialRole,
} from './tls-config.ts';

/** The credentials for one TLS context, as PEM text (line endings are normalised to LF). */
export interface TlsCredentials {
  caCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** TLS context 0–5. Default 0. */
  ctx?: number;
  /** File names per role; defaults depend on the family (`UFS:klca0.pem`, `NVRAM:CA0`). */
  names?: Partial<Record<CredentialRole, string>>;
}

/** The station's own credentials for the module: its certificate and private key (PEM). */
export interface ClientCredentials {
  clientCertPem: string;
  clientKeyPem: string;
}

/**
 * Credentials whose client half is still being issued when the write starts. The writer
 * removes stale copies and reads the free space meanwhile, then waits for `client` (by the
 * write's signal) before uploading anything: the bytes on the wire are those of a plain
 * write. A rejected `client` fails the write with that reason.
 */
export interface DeferredTlsCredentials {
  caCertPem: string;
  client: Promise<ClientCredentials>;
  ctx?: number;
  names?: Partial<Record<CredentialRole, string>>;
}

/** Steps reported through `onProgress`, in order. */
export type ModemWriteStep =
  | 'prepare'
  | 'upload:cacert'
  | 'upload:clientcert'
  | 'upload:clientkey'
  | 'verify'
  | 'configure'
  | 'readback'
  | 'cleanup';

export interface WriteOptions {
  /** Called as bytes go out: step, bytes of all three files sent so far, their total. */
  onProgress?: (step: ModemWriteStep, bytesSent: number, bytesTotal: number) => void;
  signal?: AbortSignal;
  /** Upload attempts per file before a checksum mismatch fails the write. Default 3. */
  maxAttempts?: number;
  /** Log line for the slot log (retries, cleanup). Never given file contents. */
  log?: (message: string) => void;
}

/** One file as the module holds it after a verified write. */
export interface WrittenFile {
  readonly role: CredentialRole;
  readonly name: string;
  readonly size: number;
  /** XOR-16 checksum, lowercase hex as modules print it. */
  readonly checksum: string;
  readonly attempts: number;
}

export interface ModemWriteReport {
  readonly ctx: number;
  readonly family: ModemFamily;
  readonly files: readonly WrittenFile[];
  /** TLS context settings as read back from the module (item → value). */
  readonly tlsConfig: Readonly<Record<string, string>>;
}

/** What a later verification compares against (a ModemWriteReport fits). */
export interface ExpectedCredentials {
  readonly ctx?: number;
  readonly files: ReadonlyArray<{
    role: CredentialRole;
    name: string;
    size: number;
    checksum: string;
  }>;
}

export interface FileCheck {
  readonly role: CredentialRole;
  readonly name: string;
  readonly expected: { size: number; checksum: string };
  /** Undefined when the module does not hold the file. */
  readonly reported: { size?: number; checksum?: string } | undefined;
  readonly ok: boolean;
}

export interface ModemVerifyReport {
  readonly ok: boolean;
  readonly files: readonly FileCheck[];
  readonly tlsConfig: Readonly<Record<string, string>>;
  /** One readable line per difference. */
  readonly problems: readonly string[];
}

interface WriterDeps {
  io: StoreIo;
  store: FileStore;
  family: ModemFamily;
}

function checkCtx(ctx: number, context: ModemErrorContext): number {
  if (!Number.isInteger(ctx) || ctx < 0 || ctx > 5)
    throw new ModemInputError(context, `TLS context must be 0–5, got ${ctx}`);
  return ctx;
}

function matches(file: PlannedFile, r: ReportedFile): boolean {
  return (
    (r.size === undefined || r.size === file.bytes.length) &&
    r.checksum === file.checksum &&
    (r.size !== undefined || r.checksum !== undefined)
  );
}

/**
 * Writes CA certificate, client certificate and client key, each verified against the
 * size and checksum the module reports (mismatch: delete, retry, bounded), checks the
 * stored files, and only then points the TLS context at them and reads the settings back.
 * Any failure deletes what this call wrote; the key bytes are zeroed on every path.
 */
export async function writeTlsCredentials(
  deps: WriterDeps,
  c: TlsCredentials | DeferredTlsCredentials,
  o: WriteOptions = {},
): Promise<ModemWriteReport> {
  const { io, store, family } = deps;
  const context = io.context;
  const ctx = checkCtx(c.ctx ?? 0, context);
  const names = { ...store.defaultNames(ctx), ...c.names };
  for (const role of CREDENTIAL_ROLES)
    if (!/^[A-Za-z0-9_.:/-]{1,80}$/.test(names[role]))
      throw new ModemInputError(
        context,
        `${role} file name "${names[role]}" is not a plain name of 1–80 characters`,
      );
  if (new Set(CREDENTIAL_ROLES.map((r) => names[r].toUpperCase())).size !== CREDENTIAL_ROLES.length)
    throw new ModemInputError(context, 'the three credential files need three different names');
  const planFile = (role: CredentialRole, pem: string): PlannedFile => {
    const bytes = pemToModemBytes(pem, role, context);
    return { role, name: names[role], bytes, checksum: quectelChecksum(bytes) };
  };
  // Everything given is checked before the first command; deferred client PEMs when they come.
  const files: PlannedFile[] = [];
  const deferred = 'client' in c ? c.client : undefined;
  if (deferred) deferred.catch(() => {}); // its failure is reported when it is awaited
  const progress = o.onProgress ?? (() => {});
  const log = o.log ?? (() => {});
  const maxAttempts = Math.max(1, o.maxAttempts ?? 3);
  const written = new Set<string>();
  let total = 0;
  try {
    files.push(planFile('cacert', c.caCertPem));
    if (!('client' in c))
      files.push(planFile('clientcert', c.clientCertPem), planFile('clientkey', c.clientKeyPem));
    progress('prepare', 0, sumBytes(files));
    const checkRoom = await store.prepare(
      io,
      CREDENTIAL_ROLES.map((r) => names[r]),
    );
    if (deferred) {
      const client = await untilSettled(deferred, io.signal);
      files.push(
        planFile('clientcert', client.clientCertPem),
        planFile('clientkey', client.clientKeyPem),
      );
    }
    total = sumBytes(files);
    checkRoom(total);
    if (io.engine.echoSeen) {
      log('module echoes commands again (it reset since the session began): ATE0 before uploading');
      await setUpSession(io.engine, { step: 'prepare', signal: io.signal });
    }
    const results: WrittenFile[] = [];
    let base = 0;
    for (const f of files) {
      const step = `upload:${f.role}` as const;
      let last: ReportedFile = { size: undefined, checksum: undefined };
      let done = false;
      for (let attempt = 1; attempt <= maxAttempts && !done; attempt++) {
        progress(step, base, total);
        try {
          written.add(f.name);
          last = await store.upload(io, f, (sent) => progress(step, base + sent, total));
        } catch (e) {
          // A leftover the delete did not catch: remove it and try again.
          if (
            e instanceof ModemCommandError &&
            e.code === FileError.alreadyExists &&
            attempt < maxAttempts
          ) {
            log(`${f.name}: module says it already exists; deleting and retrying`);
            await store.remove(io, f.name);
            continue;
          }
          throw e;
        }
        if (matches(f, last)) {
          const confirmed = await store.confirm(io, f);
          if (confirmed === undefined || matches(f, confirmed)) {
            results.push({
              role: f.role,
              name: f.name,
              size: f.bytes.length,
              checksum: formatChecksum(f.checksum),
              attempts: attempt,
            });
            done = true;
            break;
          }
          last = confirmed;
        }
        log(
          `${f.name}: attempt ${attempt} reported size ${last.size ?? '?'} checksum ${last.checksum !== undefined ? formatChecksum(last.checksum) : '?'}, ` +
            `expected ${f.bytes.length} ${formatChecksum(f.checksum)}; deleting`,
        );
        await store.remove(io, f.name);
        if (attempt === maxAttempts)
          throw new ModemVerifyError(
            { ...context, step },
            f.name,
            { size: f.bytes.length, checksum: formatChecksum(f.checksum) },
            {
              size: last.size,
              checksum: last.checksum !== undefined ? formatChecksum(last.checksum) : undefined,
            },
            attempt,
          );
      }
      base += f.bytes.length;
    }

    progress('verify', total, total);
    const recheck = store.checkAllAfterWrite ? files : [];
    const held = recheck.length
      ? await store.inspect(
          io,
          recheck.map((f) => f.name),
        )
      : new Map<string, ReportedFile | undefined>();
    for (const f of recheck) {
      const r = held.get(f.name);
      if (
        !r ||
        (r.size !== undefined && r.size !== f.bytes.length) ||
        (r.checksum !== undefined && r.checksum !== f.checksum)
      )
        throw new ModemVerifyError(
          { ...context, step: 'verify' },
          f.name,
          { size: f.bytes.length, checksum: formatChecksum(f.checksum) },
          {
            size: r?.size,
            checksum: r?.checksum !== undefined ? formatChecksum(r.checksum) : undefined,
          },
          1,
        );
    }

    const settings = tlsSettings(family, ctx, names);
    progress('configure', total, total);
    await applyTlsSettings(io, settings);
    progress('readback', total, total);
    const tlsConfig = await readTlsSettings(io, settings, ctx, true);
    return { ctx, family, files: results, tlsConfig };
  } catch (e) {
    if (written.size > 0 && io.engine.isOpen) {
      progress('cleanup', 0, total);
      // Also after a cancel: a half-written credential must not stay behind, so cleanup
      // ignores the caller's signal (every command in it still has its own timeout).
      const cleanupIo: StoreIo = { engine: io.engine, context: io.context };
      for (const name of [...written].reverse()) {
        try {
          await store.remove(cleanupIo, name);
          log(`${name}: deleted after failure`);
        } catch (cleanupErr) {
          log(`${name}: could not delete after failure (${(cleanupErr as Error).message})`);
        }
      }
    }
    throw e;
  } finally {
    for (const f of files) f.bytes.fill(0);
  }
}

function sumBytes(files: readonly PlannedFile[]): number {
  return files.reduce((n, f) => n + f.bytes.length, 0);
}

/** `p`, or the signal's reason if it aborts first. */
function untilSettled<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

/** Compares what the module holds now with an earlier write (sizes/checksums, TLS settings). */
export async function verifyTlsCredentials(
  deps: WriterDeps,
  expected: ExpectedCredentials,
): Promise<ModemVerifyReport> {
  const { io, store, family } = deps;
  const ctx = checkCtx(expected.ctx ?? 0, io.context);
  const names = store.defaultNames(ctx);
  for (const f of expected.files) names[f.role] = f.name;
  const held = await store.inspect(
    io,
    expected.files.map((f) => f.name),
  );
  const problems: string[] = [];
  const files: FileCheck[] = expected.files.map((f) => {
    const r = held.get(f.name);
    const reported = r
      ? {
          size: r.size,
          checksum: r.checksum !== undefined ? formatChecksum(r.checksum) : undefined,
        }
      : undefined;
    const expChecksum = Number.parseInt(f.checksum, 16);
    let ok = r !== undefined;
    if (!r) problems.push(`${f.name}: not on the module`);
    else {
      if (r.size !== undefined && r.size !== f.size) {
        ok = false;
        problems.push(`${f.name}: size ${r.size}, expected ${f.size}`);
      }
      if (r.checksum !== undefined && r.checksum !== expChecksum) {
        ok = false;
        problems.push(`${f.name}: checksum ${formatChecksum(r.checksum)}, expected ${f.checksum}`);
      }
    }
    return {
      role: f.role,
      name: f.name,
      expected: { size: f.size, checksum: f.checksum },
      reported,
      ok,
    };
  });
  const settings = tlsSettings(family, ctx, names);
  const tlsConfig = await readTlsSettings(io, settings, ctx, false);
  const normalized = (v: string) => v.replace(/^"|"$/g, '');
  for (const s of settings) {
    const got = tlsConfig[s.item];
    if (got === undefined || normalizeValue(got) !== normalizeValue(s.expected))
      problems.push(
        `TLS context ${ctx} ${s.item}: ${got ?? '(nothing)'}, expected ${normalized(s.expected)}`,
      );
  }
  return { ok: problems.length === 0, files, tlsConfig, problems };
}
