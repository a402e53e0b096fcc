import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CaImportError,
  checkIssuingCaCertificate,
  describeCertificate,
  encryptPrivateKeyPem,
  generateP256,
  issueDevelopmentCaCertificates,
  pemDecodeAll,
  pemEncode,
  zeroizeKey,
  type ParsedCertificate,
} from '../../certs/index.ts';
import { verifySignature } from '../../ledger/keys.ts';
import { writeFileAtomic } from '../station/atomic-write.ts';
import { StationError } from '../station/errors.ts';
import { STATION_FILES } from '../station/layout.ts';
import {
  newStationId,
  publishStation,
  type StationInfo,
  type UnlockPolicy,
} from '../station/publish-station.ts';
import { Pkcs11Token, type TokenKey } from './pkcs11-token.ts';

/** Which token a station's keys go into. The PIN is passed separately, never logged. */
export interface TokenTarget {
  /** PKCS#11 module path (.so). */
  module: string;
  /** Token label. */
  token: string;
}

interface CommonOptions {
  /**
   * Ledger key algorithm: 'auto' (default) takes Ed25519 where the token offers CKM_EDDSA,
   * else P-256; 'p256' forces ECDSA P-256 (tokens whose EdDSA is missing or unreliable).
   */
  ledgerKey?: 'auto' | 'p256';
  /** Replace an existing station (moved aside, not deleted). Token keys are never deleted. */
  force?: boolean;
  /** PIN attempts before the station locks, and the back-off (station.json `unlock`). */
  unlock?: Partial<UnlockPolicy>;
  now?: Date;
}

export interface CreatePkcs11StationOptions extends CommonOptions {
  organization?: string;
  /**
   * Passphrase that encrypts the development root CA key (the root is a file, kept
   * offline in production). Required: the root key is never written in the clear.
   */
  rootPassphrase: string;
  /** Write the root key (and a copy of its certificate) here instead of the station dir. */
  rootOut?: string;
  /** PBKDF2 iterations for the root key file (default of certs; tests use fewer). */
  kdfIterations?: number;
}

export interface ImportPkcs11CaOptions extends CommonOptions {
  /** Label of the customer's issuing CA private key already in the token. */
  keyLabel: string;
  /** PEM: the issuing CA certificate first, then optionally its chain up to the root. */
  certificatePem: string;
}

/** What a token-backed station setup produced (StationInfo plus where the keys went). */
export interface Pkcs11StationInfo extends StationInfo {
  keys: {
    issuingCa: { token: string; label: string; algorithm: 'ecdsa-p256-sha256' };
    ledger: { token: string; label: string; algorithm: 'ed25519' | 'ecdsa-p256-sha256' };
  };
  /** Where the encrypted development root key was written (station dir or --root-out). */
  rootKeyFile?: string;
}

/** A token-backed station could not be set up; names the step and token, never the PIN. */
export class HsmStationError extends StationError {
  override name = 'HsmStationError';
  override readonly code: string = 'HSM_STATION';
  constructor(
    dir: string,
    readonly step: string,
    message: string,
  ) {
    super(dir, `${step}: ${message}`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Generates the ledger key: Ed25519 where the token offers CKM_EDDSA, else P-256. */
function generateLedgerKey(
  token: Pkcs11Token,
  stationId: string,
  choice: 'auto' | 'p256' = 'auto',
): TokenKey {
  const kind = choice === 'auto' && token.supportsEd25519() ? 'ed25519' : 'p256';
  return token.generateKeyPair(kind, `keyline-ledger-${stationId}`);
}

function publish(
  dir: string,
  token: Pkcs11Token,
  target: TokenTarget,
  opts: CommonOptions,
  parts: {
    stationId: string;
    organization: string;
    issuingDer: Uint8Array;
    issuingSource: 'generated' | 'imported';
    chainAbove: Uint8Array[];
    issuingKey: TokenKey;
    ledgerKey: TokenKey;
    /** Extra files (the encrypted root key when kept in the station dir). */
    rootKeyInDir?: string;
  },
): Pkcs11StationInfo {
  const loc = (label: string) => ({
    kind: 'pkcs11' as const,
    module: target.module,
    token: target.token,
    label,
  });
  const info = publishStation(
    dir,
    {
      stationId: parts.stationId,
      organization: parts.organization,
      issuingCertDer: parts.issuingDer,
      issuingSource: parts.issuingSource,
      chainAbove: parts.chainAbove,
      ledgerSpki: token.publicKeySpki(parts.ledgerKey),
      keys: {
        ...(parts.rootKeyInDir
          ? { rootCa: { kind: 'file' as const, path: STATION_FILES.rootKey } }
          : {}),
        issuingCa: loc(parts.issuingKey.label),
        ledger: loc(parts.ledgerKey.label),
      },
      keyFiles: parts.rootKeyInDir
        ? [{ name: STATION_FILES.rootKey, data: parts.rootKeyInDir }]
        : [],
    },
    opts,
  );
  const alg = (k: TokenKey): 'ed25519' | 'ecdsa-p256-sha256' =>
    k.kind === 'ed25519' ? 'ed25519' : 'ecdsa-p256-sha256';
  return {
    ...info,
    keys: {
      issuingCa: {
        token: target.token,
        label: parts.issuingKey.label,
        algorithm: 'ecdsa-p256-sha256',
      },
      ledger: {
        token: target.token,
        label: parts.ledgerKey.label,
        algorithm: alg(parts.ledgerKey),
      },
    },
  };
}

/** Runs `fn` with the keys it generates destroyed again if it fails (no orphans in the token). */
async function withRollback<T>(
  token: Pkcs11Token,
  fn: (made: TokenKey[]) => Promise<T>,
): Promise<T> {
  const made: TokenKey[] = [];
  try {
    return await fn(made);
  } catch (e) {
    for (const k of made) {
      try {
        token.destroyKey(k);
      } catch {
        // The original failure matters more; a leftover key is named by its station ID.
      }
    }
    throw e;
  }
}

/**
 * Creates a station whose issuing CA key (P-256) and ledger key (Ed25519 where the token
 * offers CKM_EDDSA, else P-256) are generated inside the token — sensitive, never
 * extractable. A development root CA (a P-256 file key, encrypted with `rootPassphrase`)
 * signs the issuing CA certificate and is then kept in the station dir or in `rootOut`.
 */
export async function createPkcs11Station(
  dir: string,
  target: TokenTarget,
  pin: string,
  opts: CreatePkcs11StationOptions,
): Promise<Pkcs11StationInfo> {
  const absDir = resolve(dir);
  if (opts.rootPassphrase.length < 8)
    throw new HsmStationError(
      absDir,
      'root key',
      'the root key passphrase must be at least 8 characters',
    );
  const organization = opts.organization ?? 'keyline development';
  const token = Pkcs11Token.open({ modulePath: target.module, tokenLabel: target.token }, pin);
  try {
    return await withRollback(token, async (made) => {
      const stationId = newStationId();
      const issuingKey = token.generateKeyPair('p256', `keyline-issuing-ca-${stationId}`);
      made.push(issuingKey);
      const ledgerKey = generateLedgerKey(token, stationId, opts.ledgerKey);
      made.push(ledgerKey);

      const rootKey = generateP256();
      try {
        const { rootDer, issuingDer } = await issueDevelopmentCaCertificates({
          org: organization,
          now: opts.now,
          rootKey,
          issuingSpki: token.publicKeySpki(issuingKey),
        });
        const rootKeyPem = await encryptPrivateKeyPem(rootKey, opts.rootPassphrase, {
          iterations: opts.kdfIterations,
        });
        let rootKeyFile: string;
        const writtenOut: string[] = [];
        if (opts.rootOut) {
          const out = resolve(opts.rootOut);
          rootKeyFile = join(out, STATION_FILES.rootKey);
          // Never overwrite a root key kept there before (it may be the only copy).
          if (existsSync(rootKeyFile))
            throw new HsmStationError(
              absDir,
              'root key',
              `${rootKeyFile} exists already; choose another --root-out`,
            );
          mkdirSync(out, { recursive: true, mode: 0o700 });
          writeFileAtomic(rootKeyFile, rootKeyPem, 0o600);
          writtenOut.push(rootKeyFile);
          const rootCertFile = join(out, STATION_FILES.rootCert);
          writeFileAtomic(rootCertFile, pemEncode('CERTIFICATE', rootDer), 0o644);
          writtenOut.push(rootCertFile);
        } else {
          rootKeyFile = join(absDir, STATION_FILES.rootKey);
        }
        let info: Pkcs11StationInfo;
        try {
          info = publish(dir, token, target, opts, {
            stationId,
            organization,
            issuingDer,
            issuingSource: 'generated',
            chainAbove: [rootDer],
            issuingKey,
            ledgerKey,
            ...(opts.rootOut ? {} : { rootKeyInDir: rootKeyPem }),
          });
        } catch (e) {
          // No station, so the root that certified its (now deleted) CA key goes too.
          for (const f of writtenOut) rmSync(f, { force: true });
          throw e;
        }
        return { ...info, rootKeyFile };
      } finally {
        zeroizeKey(rootKey);
      }
    });
  } finally {
    token.close();
  }
}

/**
 * Creates a station around a customer's issuing CA key already in the token: the key
 * labelled `keyLabel` must be P-256, its public key must equal the certificate's (SPKI
 * equality, then a signature made in the token must verify under the certificate's key),
 * and the certificate must be a currently valid CA allowed to sign certificates and CRLs
 * (with its chain verifying when supplied up to a root). A ledger key is generated in the
 * same token. Nothing is written unless every check passes.
 */
export async function importPkcs11Ca(
  dir: string,
  target: TokenTarget,
  pin: string,
  opts: ImportPkcs11CaOptions,
): Promise<Pkcs11StationInfo> {
  const absDir = resolve(dir);
  const fail = (m: string) => new HsmStationError(absDir, 'import', m);
  const certs = pemDecodeAll(opts.certificatePem).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw fail('the certificate file holds no CERTIFICATE PEM block');
  const chainAbove = certs.slice(1).map((b) => b.der);
  let cert: ParsedCertificate;
  try {
    cert = checkIssuingCaCertificate({
      certificateDer: certs[0].der,
      chainDers: chainAbove,
      now: opts.now,
    });
  } catch (e) {
    if (e instanceof CaImportError) throw fail(e.reason);
    throw e;
  }
  const token = Pkcs11Token.open({ modulePath: target.module, tokenLabel: target.token }, pin);
  try {
    const key = token.findKey(opts.keyLabel);
    if (!key)
      throw fail(`token "${target.token}" holds no private key labelled "${opts.keyLabel}"`);
    if (key.kind !== 'p256') throw fail(`key "${opts.keyLabel}" is ${key.kind}, not P-256`);
    if (!equalBytes(token.publicKeySpki(key), cert.spkiDer))
      throw fail(
        `key "${opts.keyLabel}" does not match the certificate ${cert.subject} (SPKI differs)`,
      );
    // The public object could be mislabelled: prove the private half signs for this SPKI.
    const challenge = randomBytes(32);
    if (!verifySignature('ecdsa-p256-sha256', cert.spkiDer, challenge, token.sign(key, challenge)))
      throw fail(`key "${opts.keyLabel}" does not sign for the certificate ${cert.subject}`);
    return await withRollback(token, async (made) => {
      const stationId = newStationId();
      const ledgerKey = generateLedgerKey(token, stationId, opts.ledgerKey);
      made.push(ledgerKey);
      const desc = describeCertificate(certs[0].der);
      return publish(dir, token, target, opts, {
        stationId,
        organization: desc.organization ?? desc.commonName ?? 'imported CA',
        issuingDer: certs[0].der,
        issuingSource: 'imported',
        chainAbove,
        issuingKey: key,
        ledgerKey,
      });
    });
  } finally {
    token.close();
  }
}
