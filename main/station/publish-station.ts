import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { describeCertificate, parseCertificate, pemEncode, sha256Hex } from '../../certs/index.ts';
import {
  STATION_FILES,
  STATION_FORMAT,
  stationConfigSchema,
  type StationConfig,
} from './layout.ts';
import { publishStationDir, type StationFile } from './station-dir.ts';

export interface UnlockPolicy {
  /** Wrong passphrases after which the station locks (default 10). */
  maxAttempts: number;
  /** Wait after the first wrong passphrase; doubles each time (default 1 s). */
  backoffBaseMs: number;
  /** Cap on that wait (default 5 min). */
  backoffMaxMs: number;
}

export const DEFAULT_UNLOCK_POLICY: UnlockPolicy = {
  maxAttempts: 10,
  backoffBaseMs: 1000,
  backoffMaxMs: 5 * 60_000,
};

/** What a created or imported station looks like, for the CLI and the UI. */
export interface StationInfo {
  dir: string;
  stationId: string;
  organization: string;
  issuingCa: { subject: string; fingerprintSha256: string; source: 'generated' | 'imported' };
  rootCa: { subject: string; fingerprintSha256: string } | null;
  ledgerPublicKeySpkiSha256: string;
  /** Where a replaced station was moved (with `force`). */
  replacedDir?: string;
}

/** A fresh random station ID (`st-` and 16 hex digits, as station.json requires). */
export function newStationId(): string {
  return `st-${randomBytes(8).toString('hex')}`;
}

/** Everything a station directory holds, whichever kind of signer keeps its keys. */
export interface StationContents {
  stationId: string;
  organization: string;
  issuingCertDer: Uint8Array;
  issuingSource: 'generated' | 'imported';
  /** Certificates above the issuing CA, root last. */
  chainAbove: readonly Uint8Array[];
  ledgerSpki: Uint8Array;
  /** Where each signing key lives, as station.json records it. */
  keys: StationConfig['keys'];
  /** Encrypted private-key files (PEM) that go into the directory, written mode 0600. */
  keyFiles: readonly { name: string; data: string }[];
}

export interface PublishStationOptions {
  /** Replace an existing station (it is moved aside, not deleted). */
  force?: boolean;
  unlock?: Partial<UnlockPolicy>;
  now?: Date;
}

/**
 * Writes station.json, the certificates, the ledger public key and `keyFiles` as one
 * station directory (all or nothing, see publishStationDir) and describes what it wrote.
 * The top of `chainAbove` is recorded as the root CA only when it is self-issued.
 */
export function publishStation(
  dir: string,
  contents: StationContents,
  opts: PublishStationOptions,
): StationInfo {
  const issuing = describeCertificate(contents.issuingCertDer);
  const rootDer = contents.chainAbove.at(-1);
  const root =
    rootDer && parseCertificate(rootDer).selfIssued ? describeCertificate(rootDer) : undefined;
  const config: StationConfig = {
    format: STATION_FORMAT,
    stationId: contents.stationId,
    createdAt: (opts.now ?? new Date()).toISOString(),
    organization: contents.organization,
    issuingCa: {
      path: STATION_FILES.issuingCert,
      subject: issuing.subject,
      fingerprintSha256: issuing.fingerprintSha256Hex,
      source: contents.issuingSource,
    },
    rootCa: root
      ? {
          path: STATION_FILES.rootCert,
          subject: root.subject,
          fingerprintSha256: root.fingerprintSha256Hex,
        }
      : null,
    keys: contents.keys,
    ledgerPublicKey: {
      path: STATION_FILES.ledgerPublicKey,
      spkiSha256: sha256Hex(contents.ledgerSpki),
    },
    unlock: { ...DEFAULT_UNLOCK_POLICY, ...opts.unlock },
  };
  stationConfigSchema.parse(config);
  const files: StationFile[] = [
    {
      name: STATION_FILES.issuingCert,
      data: pemEncode('CERTIFICATE', contents.issuingCertDer),
      mode: 0o644,
    },
    {
      name: STATION_FILES.chain,
      data: [contents.issuingCertDer, ...contents.chainAbove]
        .map((d) => pemEncode('CERTIFICATE', d))
        .join(''),
      mode: 0o644,
    },
    {
      name: STATION_FILES.ledgerPublicKey,
      data: pemEncode('PUBLIC KEY', contents.ledgerSpki),
      mode: 0o644,
    },
    ...contents.keyFiles.map((f) => ({ ...f, mode: 0o600 })),
  ];
  if (root && rootDer)
    files.push({
      name: STATION_FILES.rootCert,
      data: pemEncode('CERTIFICATE', rootDer),
      mode: 0o644,
    });
  // station.json last: its presence is what makes a directory a station.
  files.push({
    name: STATION_FILES.config,
    data: JSON.stringify(config, null, 2) + '\n',
    mode: 0o644,
  });
  const { replacedDir } = publishStationDir(dir, files, opts.force ?? false);
  return {
    dir: resolve(dir),
    stationId: config.stationId,
    organization: config.organization,
    issuingCa: {
      subject: issuing.subject,
      fingerprintSha256: issuing.fingerprintSha256Hex,
      source: contents.issuingSource,
    },
    rootCa: root ? { subject: root.subject, fingerprintSha256: root.fingerprintSha256Hex } : null,
    ledgerPublicKeySpkiSha256: config.ledgerPublicKey.spkiSha256,
    ...(replacedDir ? { replacedDir } : {}),
  };
}
