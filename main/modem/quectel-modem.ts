import type { Transport } from '../transport/transport.ts';
import { AtEngine, type AtLog } from './at-engine.ts';
import {
  verifyTlsCredentials,
  writeTlsCredentials,
  type ExpectedCredentials,
  type ModemVerifyReport,
  type ModemWriteReport,
  type DeferredTlsCredentials,
  type TlsCredentials,
  type WriteOptions,
} from './credential-writer.ts';
import type { ModemErrorContext } from './errors.ts';
import type { FileStore } from './file-store.ts';
import { readIdentity, type ModemFamily, type ModemIdentity } from './identity.ts';
import { NvramStore } from './nvram-store.ts';
import { setUpSession } from './session.ts';
import { UfsStore } from './ufs-store.ts';

/** Every wait the driver makes, in one place. Defaults suit a loaded station and real modules. */
export interface ModemTimeouts {
  /** Answer to a simple command. Default 5000 ms. */
  commandMs: number;
  /** CONNECT after an upload command, and each upload ack. Default 5000 ms. */
  connectMs: number;
  /** The module's data timeout passed in QFUPL/QSECWRITE, seconds. Default 5. */
  uploadIdleS: number;
  /** Result after the last data byte. Default uploadIdleS + 10 s. */
  uploadResultMs: number;
  /** `AT` attempts during a resync, each waiting this long. Defaults 8 × 1000 ms. */
  resyncAttempts: number;
  resyncAttemptMs: number;
}

export interface OpenModemOptions {
  /** Fixture slot, named in every error. */
  slot?: string | number;
  log?: AtLog;
  timeouts?: Partial<ModemTimeouts>;
  signal?: AbortSignal;
  /** Longest line accepted from the module. Default 4096. */
  maxLineLength?: number;
}

/** A Quectel module with its session set up and its identity read. */
export interface QuectelModem {
  readonly identity: ModemIdentity;
  readonly family: ModemFamily;
  readonly engine: AtEngine;
  /** Writes and verifies CA cert, client cert and key, then configures the TLS context. */
  writeTlsCredentials(
    c: TlsCredentials | DeferredTlsCredentials,
    o?: WriteOptions,
  ): Promise<ModemWriteReport>;
  /** Compares what the module holds with an earlier write; reports, does not throw, on differences. */
  verifyTlsCredentials(
    expected: ExpectedCredentials,
    o?: { signal?: AbortSignal },
  ): Promise<ModemVerifyReport>;
  /** Closes the engine and the transport. */
  close(): Promise<void>;
}

function resolveTimeouts(t: Partial<ModemTimeouts> = {}): ModemTimeouts {
  const uploadIdleS = t.uploadIdleS ?? 5;
  return {
    commandMs: t.commandMs ?? 5000,
    connectMs: t.connectMs ?? 5000,
    uploadIdleS,
    uploadResultMs: t.uploadResultMs ?? uploadIdleS * 1000 + 10_000,
    resyncAttempts: t.resyncAttempts ?? 8,
    resyncAttemptMs: t.resyncAttemptMs ?? 1000,
  };
}

/**
 * Opens a session on a Quectel module: `ATE0` first (echo would reflect what follows),
 * `AT+CMEE=1` (numeric errors, mapped to text here), then ATI, QGMR, GSN and QCCID, and
 * picks the family driver from ATI. Takes ownership of the transport: on failure it is
 * closed, and `close()` closes it.
 */
export async function openQuectelModem(
  t: Transport,
  o: OpenModemOptions = {},
): Promise<QuectelModem> {
  const timeouts = resolveTimeouts(o.timeouts);
  const engine = new AtEngine(t, {
    log: o.log,
    slot: o.slot,
    defaultTimeoutMs: timeouts.commandMs,
    maxLineLength: o.maxLineLength,
    resyncAttempts: timeouts.resyncAttempts,
    resyncAttemptMs: timeouts.resyncAttemptMs,
  });
  const context: ModemErrorContext = { port: t.path, slot: o.slot };
  try {
    await setUpSession(engine, { step: 'session', signal: o.signal });
    const identity = await readIdentity(engine, context, { signal: o.signal });
    const store: FileStore =
      identity.family === '2g' ? new NvramStore(timeouts) : new UfsStore(timeouts);
    return new Modem(engine, identity, store, context);
  } catch (e) {
    await engine.close();
    throw e;
  }
}

class Modem implements QuectelModem {
  constructor(
    readonly engine: AtEngine,
    readonly identity: ModemIdentity,
    private readonly store: FileStore,
    private readonly context: ModemErrorContext,
  ) {}

  get family(): ModemFamily {
    return this.identity.family;
  }

  writeTlsCredentials(
    c: TlsCredentials | DeferredTlsCredentials,
    o: WriteOptions = {},
  ): Promise<ModemWriteReport> {
    return writeTlsCredentials(
      {
        io: { engine: this.engine, context: this.context, signal: o.signal },
        store: this.store,
        family: this.family,
      },
      c,
      o,
    );
  }

  verifyTlsCredentials(
    expected: ExpectedCredentials,
    o: { signal?: AbortSignal } = {},
  ): Promise<ModemVerifyReport> {
    return verifyTlsCredentials(
      {
        io: { engine: this.engine, context: this.context, signal: o.signal },
        store: this.store,
        family: this.family,
      },
      expected,
    );
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
