import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createFileSigner,
  decryptPrivateKeyPem,
  keyMatchesSpki,
  parseCertificate,
  pemDecodeAll,
  pemEncode,
  sha256Hex,
  WrongPassphraseError,
  zeroizeKey,
  type Signer,
} from '../../certs/index.ts';
import { AttemptGuard } from '../hsm/attempt-guard.ts';
import { createTokenSignerOpener, isWrongPinError } from '../hsm/token-signers.ts';
import {
  StationCorruptError,
  StationError,
  StationNotFoundError,
  StationPassphraseError,
  StationPinError,
} from './errors.ts';
import {
  STATION_FILES,
  stationConfigSchema,
  type KeyLocation,
  type StationConfig,
} from './layout.ts';

export interface Station {
  dir: string;
  stationId: string;
  organization: string;
  config: StationConfig;
  issuer: {
    certificateDer: Uint8Array;
    certificatePem: string;
    /** Issuing CA then the certificates above it, as PEM (what devices and servers get). */
    chainPem: string;
    signer: Signer;
  };
  /** The root (trust anchor) when the station knows it. */
  root: { certificateDer: Uint8Array; certificatePem: string } | null;
  ledgerSigner: Signer;
  ledgerPublicKeySpki: Uint8Array;
  close(): void;
}

export interface OpenStationOptions {
  /** Clock for the unlock back-off (tests). */
  now?: () => number;
  /**
   * Opens keys of kind 'pkcs11'; file keys need nothing. Defaults to main/hsm's opener,
   * which logs in with the secret given to openStation (the token PIN).
   */
  openTokenSigner?: (location: KeyLocation, role: 'issuingCa' | 'ledger') => Promise<Signer>;
}

export function readStationConfig(dir: string): StationConfig {
  const path = join(dir, STATION_FILES.config);
  if (!existsSync(path)) throw new StationNotFoundError(resolve(dir));
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new StationCorruptError(resolve(dir), STATION_FILES.config, (e as Error).message);
  }
  const parsed = stationConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new StationCorruptError(
      resolve(dir),
      STATION_FILES.config,
      parsed.error.issues[0]?.message ?? 'invalid',
    );
  return parsed.data;
}

function readStationFile(dir: string, name: string): string {
  // Only names from station.json's own schema reach here; refuse anything that climbs out.
  if (name.includes('/') || name.includes('\\') || name.startsWith('.'))
    throw new StationCorruptError(resolve(dir), STATION_FILES.config, `bad file name ${name}`);
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (e) {
    throw new StationCorruptError(
      resolve(dir),
      name,
      (e as NodeJS.ErrnoException).code ?? String(e),
    );
  }
}

async function openFileSigner(
  dir: string,
  location: KeyLocation,
  passphrase: string,
  keyName: string,
  expectedSpki: Uint8Array,
): Promise<Signer> {
  if (location.kind !== 'file')
    throw new StationError(resolve(dir), `${keyName} is not a file key`);
  const key = await decryptPrivateKeyPem(readStationFile(dir, location.path), passphrase, keyName);
  if (!keyMatchesSpki(key, expectedSpki)) {
    zeroizeKey(key);
    throw new StationCorruptError(
      resolve(dir),
      location.path,
      `${keyName} does not match its certificate/public key`,
    );
  }
  return createFileSigner(key, `file:${location.path}`);
}

/**
 * Unlocks a station: decrypts the issuing CA and ledger keys into signers. Wrong
 * passphrases back off exponentially and lock the station after `unlock.maxAttempts`,
 * with the count kept in unlock-state.json (UnlockBackoffError / UnlockLockedError).
 */
export async function openStation(
  dir: string,
  passphrase: string,
  opts: OpenStationOptions = {},
): Promise<Station> {
  const config = readStationConfig(dir);
  const guard = new AttemptGuard({
    stateFile: join(dir, STATION_FILES.unlockState),
    maxFailures: config.unlock.maxAttempts,
    baseDelayMs: config.unlock.backoffBaseMs,
    maxDelayMs: config.unlock.backoffMaxMs,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const issuingPem = readStationFile(dir, config.issuingCa.path);
  const issuingDer = pemDecodeAll(issuingPem)[0]?.der;
  if (!issuingDer)
    throw new StationCorruptError(resolve(dir), config.issuingCa.path, 'no certificate');
  const issuing = parseCertificate(issuingDer);
  if (issuing.fingerprintSha256Hex !== config.issuingCa.fingerprintSha256)
    throw new StationCorruptError(
      resolve(dir),
      config.issuingCa.path,
      'fingerprint differs from station.json',
    );
  const ledgerPubPem = readStationFile(dir, config.ledgerPublicKey.path);
  const ledgerSpki = pemDecodeAll(ledgerPubPem)[0]?.der;
  if (!ledgerSpki || sha256Hex(ledgerSpki) !== config.ledgerPublicKey.spkiSha256)
    throw new StationCorruptError(
      resolve(dir),
      config.ledgerPublicKey.path,
      'public key differs from station.json',
    );
  const chainPem = readStationFile(dir, STATION_FILES.chain);
  let root: Station['root'] = null;
  if (config.rootCa) {
    const rootPem = readStationFile(dir, config.rootCa.path);
    const rootDer = pemDecodeAll(rootPem)[0]?.der;
    if (!rootDer || sha256Hex(rootDer) !== config.rootCa.fingerprintSha256)
      throw new StationCorruptError(
        resolve(dir),
        config.rootCa.path,
        'fingerprint differs from station.json',
      );
    root = { certificateDer: rootDer, certificatePem: pemEncode('CERTIFICATE', rootDer) };
  }

  const tokens = opts.openTokenSigner ? undefined : createTokenSignerOpener(passphrase);
  const openToken =
    opts.openTokenSigner ??
    ((loc: KeyLocation) => {
      if (loc.kind !== 'pkcs11' || !tokens)
        throw new StationError(resolve(dir), 'not a PKCS#11 key location');
      return Promise.resolve(tokens.open(loc));
    });
  const open = async (role: 'issuingCa' | 'ledger', expected: Uint8Array, name: string) => {
    const loc = config.keys[role];
    if (loc.kind === 'file') return openFileSigner(dir, loc, passphrase, name, expected);
    const signer = await openToken(loc, role);
    if (!Buffer.from(signer.publicKeySpki()).equals(Buffer.from(expected))) {
      signer.dispose();
      throw new StationCorruptError(
        resolve(dir),
        STATION_FILES.config,
        `${name} in token "${loc.token}" (label "${loc.label}") does not match its certificate/public key`,
      );
    }
    return signer;
  };
  let signers: readonly [Signer, Signer];
  try {
    signers = await guard.guard(
      async () => {
        const a = await open('issuingCa', issuing.spkiDer, 'issuing CA key');
        try {
          return [a, await open('ledger', ledgerSpki, 'ledger key')] as const;
        } catch (e) {
          a.dispose();
          throw e;
        }
      },
      (e) => e instanceof WrongPassphraseError || isWrongPinError(e),
    );
  } catch (e) {
    tokens?.closeAll();
    if (isWrongPinError(e)) {
      const failures = guard.failures;
      throw new StationPinError(
        resolve(dir),
        failures,
        Math.max(0, config.unlock.maxAttempts - failures),
      );
    }
    if (!(e instanceof WrongPassphraseError)) throw e;
    const failures = guard.failures;
    throw new StationPassphraseError(
      resolve(dir),
      failures,
      Math.max(0, config.unlock.maxAttempts - failures),
    );
  }
  const [issuerSigner, ledgerSigner] = signers;
  return {
    dir: resolve(dir),
    stationId: config.stationId,
    organization: config.organization,
    config,
    issuer: {
      certificateDer: issuingDer,
      certificatePem: pemEncode('CERTIFICATE', issuingDer),
      chainPem,
      signer: issuerSigner,
    },
    root,
    ledgerSigner,
    ledgerPublicKeySpki: ledgerSpki,
    close() {
      issuerSigner.dispose();
      ledgerSigner.dispose();
    },
  };
}
