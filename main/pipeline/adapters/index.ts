import { encodeCredentialBlob } from '../../mcu/index.ts';
import type { ProductProfile } from '../../profile/schema.ts';
import type { BlobEncoder, BoardConnector } from '../ports.ts';
import { openBootloader } from './mcu.ts';
import { openModem } from './modem.ts';

export { certsIssuer } from './issuer.ts';
export { ledgerPort } from './ledger.ts';

/** Real serial ports: the Quectel driver and the AN3155 client with the profile's line settings. */
export function serialBoardConnector(profile: ProductProfile): BoardConnector {
  return {
    openModem: (port, opts) => openModem(port, profile.modem, opts),
    openMcu: (port, opts) => openBootloader(port, profile.mcu, opts),
  };
}

/** The MCU credential blob v1 (docs/credential-blob.md). */
export const credentialBlobEncoder: BlobEncoder = (f) =>
  encodeCredentialBlob({
    deviceId: f.deviceId,
    mcuUid: f.mcuUid,
    mcuPrivateKey: f.mcuPrivateKey,
    mcuCertificateDer: f.mcuCertificateDer,
    serverPublicKey: f.serverPublicKey,
    modemCertSha256: f.modemCertSha256,
  });
