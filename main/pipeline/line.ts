import { createAuditHook } from './adapters/audit.ts';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Issuer } from '../../certs/issuer.ts';
import type { Signer } from '../../certs/signer.ts';
import { LedgerWriter, ledgerDirOf } from '../ledger/index.ts';
import { loadProfile, resolveServerCaPem, type LoadedProfile } from '../profile/index.ts';
import {
  certsIssuer,
  credentialBlobEncoder,
  ledgerPort,
  serialBoardConnector,
} from './adapters/index.ts';
import type { PipelineEvent } from './events.ts';
import type { AuditHook, BoardConnector } from './ports.ts';
import { BatchRunner } from './runner.ts';

/** What the line needs from an unlocked station (main/station's Station fits). */
export interface UnlockedStation {
  readonly dir: string;
  readonly stationId: string;
  readonly issuer: Issuer & { certificatePem: string };
  readonly ledgerSigner: Signer;
  /** Issuing CA first, then up to the root (DER). */
  readonly caChainDer: Uint8Array[];
  /** The root CA certificate (PEM), for the development-only "station-root" server CA. */
  readonly rootCertificatePem: string;
}

export interface OpenLineOptions {
  station: UnlockedStation;
  /** A profile file path, or a profile already loaded. */
  profile: string | LoadedProfile;
  batch?: string;
  /** Work order the batch belongs to (the profile's caps.perWorkOrder spans its batches). */
  workOrder?: string;
  operator?: string;
  reprovision?: boolean;
  onEvent?: (event: PipelineEvent) => void;
  /** Defaults to real serial ports with the profile's line settings. */
  board?: BoardConnector;
  audit?: AuditHook;
}

/** A station opened for provisioning: the ledger is locked to this process until close(). */
export interface ProvisioningLine {
  readonly runner: BatchRunner;
  readonly ledger: LedgerWriter;
  readonly profile: LoadedProfile;
  readonly batch: string;
  /** Signs a checkpoint over everything written, then releases the ledger. */
  close(): Promise<void>;
}

/** The crash step journal inside a station directory (beside the ledger). */
export function journalDirIn(stationDir: string): string {
  return join(stationDir, 'pipeline-journal');
}

/** A batch ID for when the operator gives none: UTC time plus a short random tail. */
export function newBatchId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `b${t}-${randomBytes(3).toString('hex')}`;
}

/**
 * Opens the station's ledger, recovers intents a crashed run left open, and builds the
 * batch runner for one profile. Everything the CLI, the demo and the UI share.
 */
export async function openProvisioningLine(opts: OpenLineOptions): Promise<ProvisioningLine> {
  const loaded = typeof opts.profile === 'string' ? await loadProfile(opts.profile) : opts.profile;
  const serverCaPem = await resolveServerCaPem(loaded, opts.station.rootCertificatePem);
  const ledger = await LedgerWriter.open(ledgerDirOf(opts.station.dir), {
    signer: opts.station.ledgerSigner,
    stationId: opts.station.stationId,
    caChainDer: opts.station.caChainDer,
  });
  const batch = opts.batch ?? newBatchId();
  try {
    const runner = await BatchRunner.open({
      profile: loaded.profile,
      serverCaPem,
      batch,
      ...(opts.workOrder !== undefined ? { workOrder: opts.workOrder } : {}),
      operator: opts.operator ?? 'operator',
      reprovision: opts.reprovision ?? false,
      ledger: ledgerPort(ledger),
      issuer: certsIssuer(opts.station.issuer, loaded.profile.certificates),
      board: opts.board ?? serialBoardConnector(loaded.profile),
      encodeBlob: credentialBlobEncoder,
      journalDir: journalDirIn(opts.station.dir),
      // The profile's audit policy runs the real audit unless a caller brings its own hook.
      ...(opts.audit
        ? { audit: opts.audit }
        : loaded.profile.audit.enabled
          ? { audit: createAuditHook(loaded.profile.audit) }
          : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    let closed = false;
    return {
      runner,
      ledger,
      profile: loaded,
      batch,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await ledger.checkpoint();
        } finally {
          await ledger.close();
        }
      },
    };
  } catch (e) {
    await ledger.close();
    throw e;
  }
}
