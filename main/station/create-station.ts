import { resolve } from 'node:path';
import {
  checkIssuingCa,
  createDevelopmentCa,
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  generateEd25519,
  pemDecodeAll,
  spkiFromRaw,
  zeroizeKey,
  type PrivateKey,
} from '../../certs/index.ts';
import { StationError, WeakPassphraseError } from './errors.ts';
import { STATION_FILES } from './layout.ts';
import {
  newStationId,
  publishStation,
  type StationInfo,
  type UnlockPolicy,
} from './publish-station.ts';

export { DEFAULT_UNLOCK_POLICY, type StationInfo, type UnlockPolicy } from './publish-station.ts';

export const MIN_PASSPHRASE_LENGTH = 8;

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

function checkPassphrase(dir: string, passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH)
    throw new WeakPassphraseError(dir, MIN_PASSPHRASE_LENGTH);
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
    return publishStation(
      dir,
      {
        stationId: newStationId(),
        organization: parts.organization,
        issuingCertDer: parts.issuingCertDer,
        issuingSource: parts.issuingSource,
        chainAbove: parts.chainAbove,
        ledgerSpki: spkiFromRaw('ed25519', ledgerKey.publicKey),
        keys: {
          ...(rootKeyPem ? { rootCa: { kind: 'file' as const, path: STATION_FILES.rootKey } } : {}),
          issuingCa: { kind: 'file', path: STATION_FILES.issuingKey },
          ledger: { kind: 'file', path: STATION_FILES.ledgerKey },
        },
        keyFiles: [
          { name: STATION_FILES.issuingKey, data: issuingKeyPem },
          { name: STATION_FILES.ledgerKey, data: ledgerKeyPem },
          ...(rootKeyPem ? [{ name: STATION_FILES.rootKey, data: rootKeyPem }] : []),
        ],
      },
      opts,
    );
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
