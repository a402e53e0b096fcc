import type { AtEngine } from '../modem/at-engine.ts';
import type { ModemFamily } from '../modem/identity.ts';
import { ReadOnlyCommandGate } from './command-gate.ts';
import { AuditAbortedError, AuditInputError } from './errors.ts';
import type { Finding, FindingId, ProbeRecord } from './findings.ts';
import { probeAdbEnabled, probeAdbUnlock, probeBackdoorCommand } from './probes/debug.ts';
import { probeFirmware, type ModuleFirmware } from './probes/firmware.ts';
import { probeKeyReadable } from './probes/key-readable.ts';
import type { ProbeEnv, ProbeExpectation, ProbeResult } from './probes/probe.ts';
import { probeTlsContext } from './probes/tls-context.ts';

/** What the module should look like right after keyline wrote its credentials. */
export interface AuditExpectation {
  /** The family the profile's module belongs to (also picks QFREAD vs 2G QSECREAD). */
  family: ModemFamily;
  /** The client key file to test for read-back (usually the same as `keyFile`). */
  keyFileName: string;
  /**
   * The first bytes (at most 16 are used) of the key as written to the module, to tell a
   * readable key from some other readable file. The audit copies and zeroes what it uses;
   * the caller zeroes its own buffer.
   */
  keyPrefix?: Uint8Array;
  /** TLS context 0–5 the credentials were configured in. */
  tlsContext: number;
  /** File names the context must point at, as written (`UFS:klca1.pem`, `NVRAM:CA0`). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Firmware patterns (`*`, `?`); when non-empty, firmware matching none is a finding. */
  firmwareAllow?: readonly string[];
  /** Firmware patterns known to be vulnerable; a match is a high finding. */
  firmwareDeny?: readonly string[];
}

export interface AuditOptions {
  signal?: AbortSignal;
  /** Answer timeout per command. Default 5000 ms. */
  timeoutMs?: number;
  /** Fixture slot, named in errors. */
  slot?: string | number;
}

/** The audit's result: findings (empty for a clean module) and what each probe did. */
export interface AuditReport {
  readonly findings: readonly Finding[];
  readonly probes: readonly ProbeRecord[];
  /** Model and firmware as the module reported them (absent if ATI gave nothing usable). */
  readonly module?: ModuleFirmware;
}

const fileName = /^(UFS:|RAM:|NVRAM:)?[A-Za-z0-9_.-]{1,64}$/;

function validated(
  e: AuditExpectation,
  port: string,
  slot: AuditOptions['slot'],
): ProbeExpectation {
  const bad = (what: string) => new AuditInputError({ port, slot }, what);
  if (!Number.isInteger(e.tlsContext) || e.tlsContext < 0 || e.tlsContext > 5)
    throw bad(`TLS context must be 0–5, got ${e.tlsContext}`);
  for (const [what, name] of [
    ['key file to probe', e.keyFileName],
    ['CA file', e.caFile],
    ['client certificate file', e.certFile],
    ['client key file', e.keyFile],
  ] as const)
    if (!fileName.test(name)) throw bad(`${what} "${name.slice(0, 70)}" is not a module file name`);
  const sec = /^(NVRAM|RAM):/i.test(e.keyFileName);
  if (e.family === '2g' && !sec)
    throw bad(`2G modules keep the key in NVRAM: or RAM:, got "${e.keyFileName}"`);
  if (e.family !== '2g' && /^NVRAM:/i.test(e.keyFileName))
    throw bad(`NVRAM: exists only on 2G modules, got "${e.keyFileName}"`);
  return {
    family: e.family,
    keyFileName: e.keyFileName,
    keyPrefix: e.keyPrefix,
    tlsContext: e.tlsContext,
    caFile: e.caFile,
    certFile: e.certFile,
    keyFile: e.keyFile,
    firmwareAllow: e.firmwareAllow,
    firmwareDeny: e.firmwareDeny ?? [],
  };
}

type Probe = (env: ProbeEnv) => Promise<ProbeResult & { module?: ModuleFirmware }>;

const probes: ReadonlyArray<readonly [FindingId, Probe]> = [
  ['firmware', probeFirmware],
  ['backdoor-command', probeBackdoorCommand],
  ['adb-unlock', probeAdbUnlock],
  ['adb-enabled', probeAdbEnabled],
  ['key-readable', probeKeyReadable],
  ['tls-context', probeTlsContext],
];

/**
 * Runs the fixed list of read-only probes (AUDIT_PROBES, docs/audit.md) on a module whose
 * session is already set up (echo off). Every command goes through ReadOnlyCommandGate, so
 * no set or exec form can reach the module. A probe without a clear answer reports its
 * finding as inconclusive; a closed port, a module that stops answering or a cancel
 * throws AuditAbortedError, and bad input AuditInputError before anything is sent.
 */
export async function auditModem(
  engine: AtEngine,
  expect: AuditExpectation,
  opts: AuditOptions = {},
): Promise<AuditReport> {
  const port = engine.port;
  const slot = opts.slot;
  const expectation = validated(expect, port, slot);
  const gate = new ReadOnlyCommandGate(
    engine,
    { port, slot },
    { timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal },
  );
  const env: ProbeEnv = { gate, port, slot, expect: expectation };
  const findings: Finding[] = [];
  const records: ProbeRecord[] = [];
  let module: ModuleFirmware | undefined;
  for (const [id, probe] of probes) {
    if (opts.signal?.aborted)
      throw new AuditAbortedError({ port, slot, probe: id }, 'cancelled', {
        cause: opts.signal.reason,
      });
    gate.beginProbe(id);
    let result;
    try {
      result = await probe(env);
    } finally {
      // Keep what a failing probe sent out of the next probe's record.
      const sent = gate.endProbe();
      if (result) records.push({ id, commandsSent: sent, outcome: result.outcome });
    }
    if (result.finding) findings.push(result.finding);
    if (result.module) module = result.module;
  }
  return { findings, probes: records, ...(module ? { module } : {}) };
}
