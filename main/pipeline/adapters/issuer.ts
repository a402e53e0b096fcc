import {
  decodePkcs8,
  planDeviceCertificates,
  signDevicePlan,
  type DevicePlan,
  type Issuer,
} from '../../../certs/index.ts';
import type { ProductProfile } from '../../profile/schema.ts';
import type { DeviceIssuer, PlannedDevice } from '../ports.ts';

/**
 * Two-phase issuance from the station's issuing CA (certs/): plan (keys + TBS, for the
 * intent), then sign through the CA's Signer (file or PKCS#11, whichever it is).
 */
export function certsIssuer(
  issuer: Issuer,
  certificates: ProductProfile['certificates'],
): DeviceIssuer {
  const plans = new WeakMap<PlannedDevice, DevicePlan>();
  return {
    async plan(ids, { validityDays }) {
      const plan = planDeviceCertificates({
        ids,
        issuerCertificateDer: issuer.certificateDer,
        profile: {
          validityDays,
          sanMode: certificates.sanMode,
          ...(certificates.sanSalt !== undefined ? { sanSalt: certificates.sanSalt } : {}),
        },
      });
      const planned: PlannedDevice = {
        deviceId: plan.deviceId,
        modem: { serialHex: plan.modem.serialHex, tbsSha256Hex: plan.modem.tbsSha256Hex },
        mcu: { serialHex: plan.mcu.serialHex, tbsSha256Hex: plan.mcu.tbsSha256Hex },
        zeroize: () => plan.zeroize(),
      };
      plans.set(planned, plan);
      return planned;
    },

    async sign(planned) {
      const plan = plans.get(planned);
      if (!plan) throw new Error(`no plan for ${planned.deviceId} from this issuer`);
      const issued = await signDevicePlan(plan, issuer);
      const modemPem = issued.modem.privateKeyPem;
      const mcuPkcs8 = issued.mcu.privateKeyPkcs8;
      if (!modemPem || !mcuPkcs8) {
        issued.zeroize();
        throw new Error(`issuer returned no generated key for ${planned.deviceId}`);
      }
      // The modem driver takes the key as PEM text; a JS string cannot be wiped, so it
      // lives only until the slot drops its reference (see docs/operator-guide.md).
      const scalar = decodePkcs8(mcuPkcs8, 'MCU private key').secret;
      return {
        deviceId: issued.deviceId,
        modem: {
          serialHex: issued.modem.serialHex,
          certificateDer: issued.modem.certificateDer,
          certificatePem: issued.modem.certificatePem,
          fingerprintSha256Hex: issued.modem.fingerprintSha256Hex,
          privateKeyPem: Buffer.from(modemPem).toString('latin1'),
        },
        mcu: {
          serialHex: issued.mcu.serialHex,
          certificateDer: issued.mcu.certificateDer,
          certificatePem: issued.mcu.certificatePem,
          fingerprintSha256Hex: issued.mcu.fingerprintSha256Hex,
          privateKeyScalar: scalar,
        },
        zeroize() {
          scalar.fill(0);
          issued.zeroize();
        },
      };
    },
  };
}
