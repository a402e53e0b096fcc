import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  checkIssuingCa,
  createDevelopmentCa,
  decryptPrivateKeyPem,
  describeCertificate,
  encryptPrivateKeyPem,
  generateEd25519,
  parseCertificate,
  pemDecodeAll,
  pemEncode,
  sha256Hex,
  spkiFromRaw,
  zeroizeKey,
  type PrivateKey,
} from '../../certs/index.ts';
import { StationError, WeakPassphraseError } from './errors.ts';
import {
  STATION_FILES,
  STATION_FORMAT,
  stationConfigSchema,
  type StationConfig,
} from './layout.ts';
import { publishStationDir, type StationFile } from './station-dir.ts';

export const MIN_PASSPHRASE_LENGTH = 8;

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

interface CommonCreateOptions {
  /** Replace an existing station (it is moved aside, not deleted). */
  force?: boolean;
  /** PBKDF2 iterations for the keys written (default 600 000; tests use fewer). */
  kdfIterations?: number;
  unlock?: Partial<UnlockPolicy>;
  now?: Date;
}

export interface CreateStationOptions extends CommonCreateOptions {
  /** Organisation in the CA subjects (default "keyline development"). */
  organization?: string;
}

export interface ImportIssuingCaOptions extends CommonCreateOptions {
  /** PEM: the issuing CA certificate first, then optionally its chain up to the root. */
  certificatePem: string;
  /** PEM "ENCRYPTED PRIVATE KEY" (PKCS#8 PBES2) of the issuing CA. */
  keyPem: string;
  /** Passphrase of that key (not the station's). */
  keyPassphrase: string;
}

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

/** An unlocked station. close() disposes both signers. */
function checkPassphrase(dir: string, passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH)
    throw new WeakPassphraseError(dir, MIN_PASSPHRASE_LENGTH);
}

function newStationId(): string {
  return `st-${randomBytes(8).toString('hex')}`;
}

async function assemble(
  dir: string,
  passphrase: string,
  opts: CommonCreateOptions,
  parts: {
    organization: string;
    issuingCertDer: Uint8Array;
    issuingKey: PrivateKey;
    issuingSource: 'generated' | 'imported';
    /** Certificates above the issuing CA, root last. */
    chainAbove: Uint8Array[];
    rootKey?: PrivateKey;
  },
): Promise<StationInfo> {
  const enc = { iterations: opts.kdfIterations };
  const ledgerKey = generateEd25519();
  try {
    const issuingKeyPem = await encryptPrivateKeyPem(parts.issuingKey, passphrase, enc);
    const ledgerKeyPem = await encryptPrivateKeyPem(ledgerKey, passphrase, enc);
    const rootKeyPem = parts.rootKey
      ? await encryptPrivateKeyPem(parts.rootKey, passphrase, enc)
      : undefined;
    const ledgerSpki = spkiFromRaw('ed25519', ledgerKey.publicKey);
    const issuing = describeCertificate(parts.issuingCertDer);
    const rootDer = parts.chainAbove.at(-1);
    const root =
      rootDer && parseCertificate(rootDer).selfIssued ? describeCertificate(rootDer) : undefined;
    const chainPem = [parts.issuingCertDer, ...parts.chainAbove]
      .map((d) => pemEncode('CERTIFICATE', d))
      .join('');
    const config: StationConfig = {
      format: STATION_FORMAT,
      stationId: newStationId(),
      createdAt: (opts.now ?? new Date()).toISOString(),
      organization: parts.organization,
      issuingCa: {
        path: STATION_FILES.issuingCert,
        subject: issuing.subject,
        fingerprintSha256: issuing.fingerprintSha256Hex,
        source: parts.issuingSource,
      },
      rootCa: root
        ? {
            path: STATION_FILES.rootCert,
            subject: root.subject,
            fingerprintSha256: root.fingerprintSha256Hex,
          }
        : null,
      keys: {
        ...(rootKeyPem ? { rootCa: { kind: 'file' as const, path: STATION_FILES.rootKey } } : {}),
        issuingCa: { kind: 'file', path: STATION_FILES.issuingKey },
        ledger: { kind: 'file', path: STATION_FILES.ledgerKey },
      },
      ledgerPublicKey: { path: STATION_FILES.ledgerPublicKey, spkiSha256: sha256Hex(ledgerSpki) },
      unlock: { ...DEFAULT_UNLOCK_POLICY, ...opts.unlock },
    };
    stationConfigSchema.parse(config);
    const files: StationFile[] = [
      {
        name: STATION_FILES.issuingCert,
        data: pemEncode('CERTIFICATE', parts.issuingCertDer),
        mode: 0o644,
      },
      { name: STATION_FILES.issuingKey, data: issuingKeyPem, mode: 0o600 },
      { name: STATION_FILES.chain, data: chainPem, mode: 0o644 },
      { name: STATION_FILES.ledgerKey, data: ledgerKeyPem, mode: 0o600 },
      {
        name: STATION_FILES.ledgerPublicKey,
        data: pemEncode('PUBLIC KEY', ledgerSpki),
        mode: 0o644,
      },
    ];
    if (root && rootDer)
      files.push({
        name: STATION_FILES.rootCert,
        data: pemEncode('CERTIFICATE', rootDer),
        mode: 0o644,
      });
    if (rootKeyPem) files.push({ name: STATION_FILES.rootKey, data: rootKeyPem, mode: 0o600 });
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
        source: parts.issuingSource,
      },
      rootCa: root ? { subject: root.subject, fingerprintSha256: root.fingerprintSha256Hex } : null,
      ledgerPublicKeySpkiSha256: config.ledgerPublicKey.spkiSha256,
      ...(replacedDir ? { replacedDir } : {}),
    };
  } finally {
    zeroizeKey(ledgerKey);
  }
}

/**
 * Creates a station: a development root CA (key kept, encrypted, in the directory — a
 * production root stays offline), an issuing CA under it, and an Ed25519 ledger key, all
 * keys encrypted with `passphrase`. Refuses an existing station unless `force`.
 */
export async function createStation(
  dir: string,
  passphrase: string,
  opts: CreateStationOptions = {},
): Promise<StationInfo> {
  checkPassphrase(dir, passphrase);
  const organization = opts.organization ?? 'keyline development';
  const ca = await createDevelopmentCa({ org: organization, now: opts.now });
  try {
    return await assemble(dir, passphrase, opts, {
      organization,
      issuingCertDer: ca.issuing.certificateDer,
      issuingKey: ca.issuing.key,
      issuingSource: 'generated',
      chainAbove: [ca.root.certificateDer],
      rootKey: ca.root.key,
    });
  } finally {
    zeroizeKey(ca.root.key);
    zeroizeKey(ca.issuing.key);
  }
}

/**
 * Creates a station around a customer's issuing CA: decrypts its key with `keyPassphrase`,
 * checks it is a valid CA matching the key (and its chain, if given), then stores it
 * re-encrypted under the station passphrase next to a new ledger key. Nothing is written
 * unless every check passes.
 */
export async function importIssuingCa(
  dir: string,
  passphrase: string,
  opts: ImportIssuingCaOptions,
): Promise<StationInfo> {
  checkPassphrase(dir, passphrase);
  const certs = pemDecodeAll(opts.certificatePem).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0)
    throw new StationError(resolve(dir), 'the certificate file holds no CERTIFICATE PEM block');
  const key = await decryptPrivateKeyPem(
    opts.keyPem,
    opts.keyPassphrase,
    'the imported issuing CA key',
  );
  try {
    const chainAbove = certs.slice(1).map((b) => b.der);
    const desc = checkIssuingCa({
      certificateDer: certs[0].der,
      key,
      chainDers: chainAbove,
      now: opts.now,
    });
    return await assemble(dir, passphrase, opts, {
      organization: desc.organization ?? desc.commonName ?? 'imported CA',
      issuingCertDer: certs[0].der,
      issuingKey: key,
      issuingSource: 'imported',
      chainAbove,
    });
  } finally {
    zeroizeKey(key);
  }
}

/** Reads and validates station.json (no passphrase needed). */
