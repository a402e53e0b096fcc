/**
 * The ledger view's backend: search by hardware or device ID, one device's decoded
 * certificates and records, revocation, and export followed by an independent
 * verification of what was written.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { describeCertificate } from '../../certs/certificate-info.ts';
import type {
  CertificateSummary,
  ExportProgress,
  ExportResult,
  LedgerDeviceDetail,
  LedgerHit,
  LedgerRecordSummary,
} from '../../contract/types.ts';
import { leafHash, toHex } from '../../ledger/hash.ts';
import type { CommitRecord, LedgerRecord } from '../../ledger/records.ts';
import type { DeviceAttempt } from '../../ledger/state.ts';
import { readExport } from '../../server/export-reader.ts';
import { exportLedger } from '../ledger/export.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import { StationAppError } from './errors.ts';
import type { StationSession } from './station-session.ts';

const statusOf: Record<DeviceAttempt['status'], LedgerHit['status']> = {
  'open-intent': 'pending',
  committed: 'committed',
  aborted: 'aborted',
  revoked: 'revoked',
};

function lastIndex(a: DeviceAttempt): number {
  return Math.max(a.intentIndex, a.commitIndex ?? -1, a.abortIndex ?? -1, a.revokeIndex ?? -1);
}

function hitOf(w: LedgerWriter, a: DeviceAttempt): LedgerHit {
  return {
    deviceId: a.deviceId,
    imei: a.hardwareIds.imei,
    iccid: a.hardwareIds.iccid,
    mcuUid: a.hardwareIds.mcuUid,
    status: statusOf[a.status],
    at: w.record(lastIndex(a)).time,
  };
}

/** The attempt that speaks for a device: its newest one. */
function latestAttempt(w: LedgerWriter, deviceId: string): DeviceAttempt {
  const all = w.findByDeviceId(deviceId);
  const a = all.at(-1);
  if (!a)
    throw new StationAppError('not-found', `no device ${deviceId} in the ledger`, { deviceId });
  return a;
}

function colonHex(hex: string): string {
  return (hex.match(/../g) ?? []).join(':').toUpperCase();
}

function certSummary(role: 'modem' | 'mcu', derB64: string): CertificateSummary {
  const der = new Uint8Array(Buffer.from(derB64, 'base64'));
  const d = describeCertificate(der);
  const b64 = Buffer.from(der).toString('base64');
  return {
    role,
    subject: d.subject,
    issuer: d.issuer,
    serial: d.serialHex,
    san: d.sanUris,
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
    sha256: colonHex(d.fingerprintSha256Hex),
    publicKeyAlgorithm: d.publicKey.algorithm === 'p256' ? 'ECDSA P-256' : d.publicKey.algorithm,
    pem: `-----BEGIN CERTIFICATE-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`,
  };
}

function detailOf(w: LedgerWriter, a: DeviceAttempt): LedgerDeviceDetail {
  const indexes = [a.intentIndex, a.commitIndex, a.abortIndex, a.revokeIndex].filter(
    (i): i is number => i !== undefined,
  );
  const records: LedgerRecordSummary[] = indexes.map((i) => ({
    index: i,
    type: w.record(i).type,
    at: w.record(i).time,
    leafHash: toHex(leafHash(w.recordBytes(i))),
  }));
  const facts: Record<string, string> = { Batch: a.batch };
  const certificates: CertificateSummary[] = [];
  if (a.commitIndex !== undefined) {
    const commit = w.record(a.commitIndex) as CommitRecord;
    certificates.push(certSummary('modem', commit.certificates.modem.derB64));
    certificates.push(certSummary('mcu', commit.certificates.mcu.derB64));
    facts['Slot'] = commit.slot;
    facts['Profile'] = commit.profile;
    facts['Operator'] = commit.operator;
    facts['Modem'] = `${commit.modem.model} ${commit.modem.firmware}`;
    if (commit.modemKeyReadable !== undefined) {
      facts['Modem key readable over AT'] = commit.modemKeyReadable ? 'yes' : 'no';
    }
    for (const f of commit.findings ?? []) facts[`Finding ${f.id}`] = `${f.severity}: ${f.summary}`;
  }
  if (a.abortIndex !== undefined) {
    const abort = w.record(a.abortIndex) as Extract<LedgerRecord, { type: 'abort' }>;
    facts['Aborted at'] = `${abort.step}: ${abort.reason}`;
  }
  if (a.revokeIndex !== undefined) {
    const rev = w.record(a.revokeIndex) as Extract<LedgerRecord, { type: 'revoke' }>;
    facts['Revoked'] = rev.reason;
  }
  return { hit: hitOf(w, a), certificates, records, facts };
}

export class LedgerBrowser {
  constructor(
    private readonly session: StationSession,
    private readonly progress: (p: ExportProgress) => void,
  ) {}

  /**
   * Exact match on a device ID, IMEI, ICCID or MCU UID (case and a 0x prefix ignored);
   * an empty query lists the newest devices.
   */
  search(query: string, limit: number): Promise<LedgerHit[]> {
    return this.session.withLedger(async (w) => {
      const q = query.trim();
      const attempts = new Map<string, DeviceAttempt>();
      if (q === '') {
        for (let i = w.size - 1; i >= 0 && attempts.size < limit; i--) {
          const r = w.record(i);
          if (r.type === 'intent' && !attempts.has(r.deviceId)) {
            attempts.set(r.deviceId, latestAttempt(w, r.deviceId));
          }
        }
      } else {
        for (const a of w.findByDeviceId(q)) attempts.set(a.deviceId, a);
        const hex = q.toLowerCase().replace(/^0x/, '');
        const matches = w.findByHardwareId({ imei: q, iccid: q.toUpperCase(), mcuUid: hex });
        for (const m of matches)
          attempts.set(m.attempt.deviceId, latestAttempt(w, m.attempt.deviceId));
      }
      return [...attempts.values()].slice(0, limit).map((a) => hitOf(w, a));
    });
  }

  device(deviceId: string): Promise<LedgerDeviceDetail> {
    return this.session.withLedger(async (w) => detailOf(w, latestAttempt(w, deviceId)));
  }

  /** Appends a revoke record for the device's committed certificates. */
  revoke(deviceId: string, reason: string): Promise<LedgerDeviceDetail> {
    return this.session.withLedger(async (w) => {
      const a = latestAttempt(w, deviceId);
      if (a.status !== 'committed' || a.commitIndex === undefined) {
        throw new StationAppError(
          'invalid-input',
          `device ${deviceId} is ${statusOf[a.status]}, not committed; nothing to revoke`,
          {
            deviceId,
            status: a.status,
          },
        );
      }
      const commit = w.record(a.commitIndex) as CommitRecord;
      await w.append({
        type: 'revoke',
        deviceId,
        commitIndex: a.commitIndex,
        revokeSerialsHex: [commit.certificates.modem.serialHex, commit.certificates.mcu.serialHex],
        reason,
        operator: 'operator',
      });
      return detailOf(w, latestAttempt(w, deviceId));
    });
  }

  /** Writes an export to `outDir` (a new folder), then verifies it as a server would. */
  async exportTo(outDir: string): Promise<ExportResult> {
    const station = this.session.requireUnlocked();
    const dir = resolve(outDir);
    const exportId = randomUUID();
    const summary = await this.session.withLedger(async (w) => {
      this.progress({ exportId, phase: 'writing', done: 0, total: w.size });
      return exportLedger(w, {
        outDir: dir,
        issuer: station.issuer,
        caChainDer: station.caChainDer,
      });
    });
    const total = summary.treeSize;
    this.progress({ exportId, phase: 'verifying', done: 0, total });
    let seen = 0;
    try {
      const v = readExport(dir, {
        onRecord: () => {
          seen++;
          if (seen % 50 === 0) this.progress({ exportId, phase: 'verifying', done: seen, total });
        },
      });
      this.progress({ exportId, phase: 'done', done: total, total });
      return {
        exportId,
        dir,
        records: v.checkpoint.checkpoint.treeSize,
        verified: true,
        root: v.checkpoint.checkpoint.rootHashHex,
        message: `checkpoint signed by ${v.stationId}; CRL revokes ${v.crl.serialsHex.length} serial(s)`,
      };
    } catch (e) {
      this.progress({ exportId, phase: 'failed', done: seen, total });
      return {
        exportId,
        dir,
        records: total,
        verified: false,
        root: summary.checkpoint.checkpoint.rootHashHex,
        message: (e as Error).message.split('\n')[0],
      };
    }
  }
}
