import { pemEncode, sha256Hex, toHex } from './der.ts';
import { IssuanceError } from './errors.ts';
import { deriveDeviceId, normalizeHardwareIds, type HardwareIds } from './hardware-ids.ts';
import { assertSignerMatches, issuerInfo, type Issuer } from './issuer.ts';
import { encodePkcs8, generateP256, spkiFromRaw, type PrivateKey } from './keys.ts';
import { OID } from './oids.ts';
import { pemBytes } from './pem-bytes.ts';
import { resolveDeviceProfile, type DeviceProfile } from './profile.ts';
import { sanUrisFor } from './san.ts';
import { verifyCsr } from './csr.ts';
import type { DeviceRole } from './certificate-info.ts';
import {
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  derOctetString,
  encodeExtension,
  encodeName,
  encodeTbsCertificate,
  extKeyUsageValue,
  keyIdentifier,
  keyUsageValue,
  randomSerial,
  signTbs,
  subjectAltNameUris,
} from './x509-build.ts';

export const DEVICE_ROLES: readonly DeviceRole[] = ['modem', 'mcu'];

export interface DevicePlanInput {
  ids: HardwareIds;
  /** The issuing CA certificate the plan is built against (its name and key id go in the TBS). */
  issuerCertificateDer: Uint8Array;
  profile?: Partial<DeviceProfile>;
  /** CSRs (DER or PEM) for roles whose board generated its own key; verified here. */
  csr?: Partial<Record<DeviceRole, Uint8Array | string>>;
  now?: Date;
}

/** What the ledger intent records for one planned certificate. */
export interface PlannedCertificate {
  role: DeviceRole;
  /** 32 lowercase hex digits (128-bit positive serial). */
  serialHex: string;
  /** SHA-256 of the TBSCertificate DER that will be signed. */
  tbsSha256Hex: string;
  notBefore: Date;
  notAfter: Date;
  /** 'generated' here, or taken from a verified 'csr'. */
  keySource: 'generated' | 'csr';
  /** Raw uncompressed P-256 public key (65 bytes). */
  publicKey: Uint8Array;
}

interface RoleState {
  tbsDer: Uint8Array;
  key: PrivateKey | null;
}

/**
 * Both certificates of one board, built but not yet signed. Public fields are what the
 * ledger intent needs; keys and TBS bytes are private (JSON.stringify shows no secret).
 * Call zeroize() if the plan is abandoned; signDevicePlan() takes the keys over.
 */
export class DevicePlan {
  readonly #state: Record<DeviceRole, RoleState>;
  #consumed = false;

  constructor(
    readonly deviceId: string,
    readonly ids: HardwareIds,
    readonly sanUris: readonly string[],
    readonly issuerFingerprintSha256Hex: string,
    readonly modem: PlannedCertificate,
    readonly mcu: PlannedCertificate,
    state: Record<DeviceRole, RoleState>,
  ) {
    this.#state = state;
  }

  /** The planned certificate for a role. */
  role(role: DeviceRole): PlannedCertificate {
    return role === 'modem' ? this.modem : this.mcu;
  }

  /** @internal used by signDevicePlan: hands over TBS bytes and keys exactly once. */
  take(): Record<DeviceRole, RoleState> {
    if (this.#consumed)
      throw new IssuanceError('sign', `plan for ${this.deviceId} was already signed or zeroized`);
    this.#consumed = true;
    return this.#state;
  }

  /** The ledger-intent view: public fields only, binary as hex, dates as ISO strings. */
  toJSON(): Record<string, unknown> {
    const role = (p: PlannedCertificate) => ({
      role: p.role,
      serialHex: p.serialHex,
      tbsSha256Hex: p.tbsSha256Hex,
      notBefore: p.notBefore.toISOString(),
      notAfter: p.notAfter.toISOString(),
      keySource: p.keySource,
      publicKeyHex: toHex(p.publicKey),
    });
    return {
      deviceId: this.deviceId,
      ids: this.ids,
      sanUris: this.sanUris,
      issuerFingerprintSha256Hex: this.issuerFingerprintSha256Hex,
      modem: role(this.modem),
      mcu: role(this.mcu),
    };
  }

  /** Wipes the generated private keys of an abandoned plan. */
  zeroize(): void {
    for (const r of DEVICE_ROLES) {
      this.#state[r].key?.secret.fill(0);
      this.#state[r].key = null;
    }
    this.#consumed = true;
  }
}

const DAY_MS = 86_400_000;

/**
 * Phase 1 of issuance: generates the key pairs (or takes CSR keys), draws random serials
 * and builds both TBSCertificates, so their serials and hashes can be made durable in the
 * ledger before anything is signed. Throws HardwareIdError, ProfileError or CsrError.
 */
export function planDeviceCertificates(input: DevicePlanInput): DevicePlan {
  const ids = normalizeHardwareIds(input.ids);
  const deviceId = deriveDeviceId(ids);
  const profile = resolveDeviceProfile(input.profile);
  const issuer = issuerInfo(input.issuerCertificateDer);
  const csrKeys: Partial<Record<DeviceRole, Uint8Array>> = {};
  for (const r of DEVICE_ROLES) {
    const csr = input.csr?.[r];
    if (csr !== undefined) csrKeys[r] = verifyCsr(csr).publicKey.raw;
  }
  const organization = profile.organization ?? issuer.certificate.organization;
  const sanUris = sanUrisFor(ids, profile.sanMode, profile.sanSalt);
  const sanExt = encodeExtension(OID.subjectAltName, false, subjectAltNameUris(sanUris));
  const now = input.now ?? new Date();
  const notBefore = new Date(
    Math.floor(now.getTime() / 1000) * 1000 - profile.backdateSeconds * 1000,
  );
  const notAfter = new Date(notBefore.getTime() + profile.validityDays * DAY_MS);
  if (notAfter > issuer.certificate.notAfter)
    throw new IssuanceError(
      'plan',
      `device validity ends ${notAfter.toISOString()}, after the issuing CA expires ` +
        `(${issuer.certificate.notAfter.toISOString()}); shorten validityDays`,
    );
  const commonExts = [
    encodeExtension(OID.basicConstraints, true, basicConstraintsValue(false)),
    encodeExtension(OID.keyUsage, true, keyUsageValue(['digitalSignature'])),
    encodeExtension(OID.extKeyUsage, false, extKeyUsageValue([OID.clientAuth])),
    sanExt,
    encodeExtension(
      OID.authorityKeyIdentifier,
      false,
      authorityKeyIdentifierValue(issuer.keyIdentifier),
    ),
  ];

  const state = {} as Record<DeviceRole, RoleState>;
  const planned = {} as Record<DeviceRole, PlannedCertificate>;
  try {
    for (const role of DEVICE_ROLES) {
      const key = csrKeys[role] ? null : generateP256();
      const publicKey = key ? key.publicKey : csrKeys[role]!;
      const spki = spkiFromRaw('p256', publicKey);
      const serial = randomSerial();
      const subject = encodeName([
        ...(organization ? [{ oid: OID.organizationName, value: organization }] : []),
        { oid: OID.organizationalUnitName, value: role },
        { oid: OID.commonName, value: deviceId },
      ]);
      const tbsDer = encodeTbsCertificate({
        serial,
        signatureAlgorithm: 'ecdsa-p256-sha256',
        issuerNameDer: issuer.certificate.subjectNameDer,
        notBefore,
        notAfter,
        subjectNameDer: subject,
        subjectPublicKeySpki: spki,
        extensions: [
          ...commonExts,
          encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(keyIdentifier(spki))),
        ],
      });
      state[role] = { tbsDer, key };
      planned[role] = {
        role,
        serialHex: toHex(serial),
        tbsSha256Hex: sha256Hex(tbsDer),
        notBefore,
        notAfter,
        keySource: key ? 'generated' : 'csr',
        publicKey,
      };
    }
  } catch (e) {
    for (const r of DEVICE_ROLES) state[r]?.key?.secret.fill(0);
    throw e;
  }
  return new DevicePlan(
    deviceId,
    ids,
    sanUris,
    issuer.certificate.fingerprintSha256Hex,
    planned.modem,
    planned.mcu,
    state,
  );
}

/** One signed device certificate and (when keyline generated it) its private key. */
export interface IssuedCertificate extends PlannedCertificate {
  certificateDer: Uint8Array;
  certificatePem: string;
  fingerprintSha256Hex: string;
  /** Unencrypted PKCS#8 DER; absent for CSR-issued roles. Wiped by IssuedDevice.zeroize(). */
  privateKeyPkcs8?: Uint8Array;
  /**
   * The same key as "PRIVATE KEY" PEM text in bytes (ASCII, LF), ready to upload to the
   * modem; bytes rather than a string so it can be wiped. Wiped by zeroize().
   */
  privateKeyPem?: Uint8Array;
}

export interface IssuedDevice {
  deviceId: string;
  ids: HardwareIds;
  modem: IssuedCertificate;
  mcu: IssuedCertificate;
  /** Wipes every private key byte this object holds (PKCS#8 DER and PEM bytes). */
  zeroize(): void;
}

/**
 * Phase 2: signs exactly the planned TBS bytes through the issuer's signer and assembles
 * the certificates. The signer must hold the key of the certificate the plan was built on.
 */
export async function signDevicePlan(plan: DevicePlan, issuer: Issuer): Promise<IssuedDevice> {
  const info = issuerInfo(issuer.certificateDer);
  if (info.certificate.fingerprintSha256Hex !== plan.issuerFingerprintSha256Hex) {
    plan.zeroize();
    throw new IssuanceError('sign', `plan for ${plan.deviceId} was built for another issuing CA`);
  }
  try {
    assertSignerMatches(info, issuer.signer, 'sign');
  } catch (e) {
    plan.zeroize();
    throw e;
  }
  const state = plan.take();
  const out = {} as Record<DeviceRole, IssuedCertificate>;
  try {
    for (const role of DEVICE_ROLES) {
      const { tbsDer, key } = state[role];
      const certificateDer = await signTbs(
        tbsDer,
        issuer.signer,
        `sign ${role} certificate of ${plan.deviceId}`,
      );
      const issued: IssuedCertificate = {
        ...plan.role(role),
        certificateDer,
        certificatePem: pemEncode('CERTIFICATE', certificateDer),
        fingerprintSha256Hex: sha256Hex(certificateDer),
      };
      if (key) {
        issued.privateKeyPkcs8 = encodePkcs8(key);
        issued.privateKeyPem = pemBytes('PRIVATE KEY', issued.privateKeyPkcs8);
        key.secret.fill(0);
        state[role].key = null;
      }
      out[role] = issued;
    }
  } catch (e) {
    for (const r of DEVICE_ROLES) {
      state[r].key?.secret.fill(0);
      out[r]?.privateKeyPkcs8?.fill(0);
      out[r]?.privateKeyPem?.fill(0);
    }
    throw e;
  }
  return {
    deviceId: plan.deviceId,
    ids: plan.ids,
    modem: out.modem,
    mcu: out.mcu,
    zeroize() {
      for (const r of DEVICE_ROLES) {
        out[r].privateKeyPkcs8?.fill(0);
        out[r].privateKeyPem?.fill(0);
      }
    },
  };
}
