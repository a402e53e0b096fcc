import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpki } from '../certs/index.ts';
import { spkiOfCertificate } from './spki-of-certificate.ts';
import { canonicalString } from '../ledger/canonical.ts';
import { decodeSignedCheckpoint } from '../ledger/checkpoint.ts';
import { EXPORT_FILES, decodeManifest } from '../ledger/export-format.ts';
import { ExportVerificationError } from '../ledger/export-verifier.ts';
import type { LedgerRecord } from '../ledger/records.ts';
import type { DeviceStore, DeviceStoreImport, StoredCheckpoint } from './device-store.ts';
import { readExport } from './export-reader.ts';

/** The export contradicts a checkpoint already imported: two histories of one ledger. */
export class LedgerForkError extends Error {
  override name = 'LedgerForkError';
  constructor(
    readonly stationId: string,
    readonly importedSize: number,
    detail: string,
  ) {
    super(
      `refused export of station ${stationId}: fork against imported checkpoint of size ${importedSize}: ${detail}`,
    );
  }
}

/** The export cannot be applied (gap, older than what is imported, other station key). */
export class ImportRefusedError extends Error {
  override name = 'ImportRefusedError';
}

export interface ImportResult {
  stationId: string;
  previousSize: number;
  treeSize: number;
  devicesAdded: number;
  devicesRevoked: number;
  serialsRevoked: number;
  /** The store already held exactly this checkpoint; nothing changed. */
  alreadyImported: boolean;
}

export interface ImportOptions {
  /** Verify every device certificate chain (default true). */
  checkChains?: boolean;
}

function peek(dir: string): {
  stationId: string;
  firstIndex: number;
  treeSize: number;
  rootHashHex: string;
} {
  try {
    const m = decodeManifest(new Uint8Array(readFileSync(join(dir, EXPORT_FILES.manifest))));
    const cp = decodeSignedCheckpoint(
      new Uint8Array(readFileSync(join(dir, EXPORT_FILES.checkpoint))),
    );
    return {
      stationId: m.stationId,
      firstIndex: m.firstIndex,
      treeSize: m.treeSize,
      rootHashHex: cp.checkpoint.rootHashHex,
    };
  } catch (e) {
    throw new ExportVerificationError(EXPORT_FILES.manifest, (e as Error).message);
  }
}

function applyRecord(
  tx: DeviceStoreImport,
  stationId: string,
  index: number,
  r: LedgerRecord,
  counts: ImportResult,
): void {
  switch (r.type) {
    case 'commit': {
      const mcuDer = new Uint8Array(Buffer.from(r.certificates.mcu.derB64, 'base64'));
      tx.addDevice({
        deviceId: r.deviceId,
        stationId,
        commitIndex: index,
        hardwareIds: r.hardwareIds,
        modem: r.modem,
        modemCertSha256Hex: r.certificates.modem.sha256Hex,
        mcuCertSha256Hex: r.certificates.mcu.sha256Hex,
        modemSerialHex: r.certificates.modem.serialHex,
        mcuSerialHex: r.certificates.mcu.serialHex,
        mcuPublicKeyHex: Buffer.from(parseSpki(spkiOfCertificate(mcuDer)).raw).toString('hex'),
        batch: r.batch,
        committedAt: r.time,
        revoked: null,
        findings: r.findings ?? [],
        modemKeyReadable: r.modemKeyReadable ?? null,
      });
      counts.devicesAdded++;
      break;
    }
    case 'abort':
    case 'revoke':
      for (const serialHex of r.revokeSerialsHex) {
        tx.revokeSerial({ serialHex, stationId, index, at: r.time, kind: r.type });
        counts.serialsRevoked++;
      }
      if (r.type === 'revoke') {
        tx.revokeDevice(stationId, r.commitIndex, { index, at: r.time, reason: r.reason });
        counts.devicesRevoked++;
      }
      break;
    default:
      break;
  }
}

/**
 * Verifies an export and applies it to the store in one transaction. The first export
 * of a station must be a full one; later ones must extend the imported checkpoint (an
 * incremental export starting at or before it, or a full one): any other history is a
 * LedgerForkError. The station key is trusted on first import and must not change.
 */
export function importExport(
  store: DeviceStore,
  dir: string,
  opts: ImportOptions = {},
): ImportResult {
  const head = peek(dir);
  const stored: StoredCheckpoint | undefined = store.checkpoint(head.stationId);
  const from = stored?.treeSize ?? 0;
  const result: ImportResult = {
    stationId: head.stationId,
    previousSize: from,
    treeSize: head.treeSize,
    devicesAdded: 0,
    devicesRevoked: 0,
    serialsRevoked: 0,
    alreadyImported: false,
  };
  if (stored) {
    if (head.treeSize < stored.treeSize)
      throw new ImportRefusedError(
        `export of station ${head.stationId} ends at ${head.treeSize}, before the imported ${stored.treeSize}`,
      );
    if (head.firstIndex > stored.treeSize)
      throw new ImportRefusedError(
        `export starts at record ${head.firstIndex} but records from ${stored.treeSize} were never imported`,
      );
  } else if (head.firstIndex > 0) {
    throw new ImportRefusedError(
      `first import of station ${head.stationId} must be a full export (this one starts at ${head.firstIndex})`,
    );
  }
  const tx = store.beginImport();
  try {
    const v = readExport(dir, {
      checkChains: opts.checkChains,
      expectPrefix: stored && { treeSize: stored.treeSize, rootHashHex: stored.rootHashHex },
      onRecord: (index, record) => {
        if (index >= from) applyRecord(tx, head.stationId, index, record, result);
      },
    });
    const spkiB64 = Buffer.from(v.stationSpki).toString('base64');
    if (stored && stored.stationSpkiB64 !== spkiB64)
      throw new ImportRefusedError(
        `export of station ${head.stationId} is signed by another key than before`,
      );
    if (stored && stored.treeSize === v.checkpoint.checkpoint.treeSize)
      result.alreadyImported = true;
    tx.commit({
      stationId: v.stationId,
      treeSize: v.checkpoint.checkpoint.treeSize,
      rootHashHex: v.checkpoint.checkpoint.rootHashHex,
      checkpointJson: canonicalString(v.checkpoint),
      stationSpkiB64: spkiB64,
      caChainDer: v.caChainDer,
    });
    return result;
  } catch (e) {
    tx.rollback();
    if (e instanceof ExportVerificationError && /fork/.test(e.message) && stored)
      throw new LedgerForkError(head.stationId, stored.treeSize, e.message);
    throw e;
  }
}
