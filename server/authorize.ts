import { createHash } from 'node:crypto';
import { parseCertificate, verifyChain, type ParsedCertificate } from '../certs/index.ts';
import type { DeviceEntry, DeviceStore } from './device-store.ts';

/** Why a client certificate was accepted or refused. */
export type DecisionReason =
  | 'committed'
  | 'tls-handshake-failed'
  | 'no-certificate'
  | 'malformed-certificate'
  | 'untrusted-chain'
  | 'unknown-device'
  | 'aborted'
  | 'revoked'
  | 'not-modem-certificate'
  /** Server policy: the audit found this modem's key readable over AT and the connection
   *  does not carry MCU-sealed payloads (docs/threat-model.md, "SSL key theft"). */
  | 'modem-key-readable';

/** One authentication decision (also what the server logs, one JSON line each). */
export interface Decision {
  accepted: boolean;
  reason: DecisionReason;
  detail: string;
  deviceId?: string;
  subject?: string;
  serialHex?: string;
  fingerprintSha256Hex?: string;
  /** For an accepted device: what the ledger says about it (hardware IDs, MCU key, findings). */
  device?: DeviceEntry;
}

function refuse(reason: DecisionReason, detail: string, cert?: ParsedCertificate): Decision {
  return {
    accepted: false,
    reason,
    detail,
    subject: cert?.subject,
    serialHex: cert?.serialHex,
    fingerprintSha256Hex: cert?.fingerprintSha256Hex,
    deviceId: cert?.commonName,
  };
}

/**
 * Is `certDer` the TLS (modem) certificate of a committed, unrevoked device? It must chain
 * to the issuing CA of an imported station, be the modem certificate of a commit record,
 * and be on no revocation (abort or revoke record). The answer carries the device's
 * hardware IDs, MCU public key and audit findings.
 */
export function authorizeCertificate(
  store: DeviceStore,
  certDer: Uint8Array | undefined,
  at = new Date(),
): Decision {
  if (!certDer || certDer.length === 0)
    return refuse('no-certificate', 'the client sent no certificate');
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(certDer);
  } catch (e) {
    return refuse('malformed-certificate', (e as Error).message);
  }
  const fingerprint = createHash('sha256').update(certDer).digest('hex');
  let chained = false;
  let why = 'no station has been imported';
  for (const cp of store.checkpoints()) {
    const chain = cp.caChainDer;
    try {
      verifyChain(certDer, chain.slice(0, -1), chain[chain.length - 1], { at });
      chained = true;
      break;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  if (!chained) return refuse('untrusted-chain', why, cert);
  const device = store.deviceByCertificate(fingerprint);
  const revokedSerial = store.revokedSerial(cert.serialHex);
  if (!device) {
    if (revokedSerial?.kind === 'abort')
      return refuse('aborted', `provisioning was aborted (record ${revokedSerial.index})`, cert);
    if (revokedSerial) return refuse('revoked', `revoked by record ${revokedSerial.index}`, cert);
    return refuse('unknown-device', 'no commit record holds this certificate', cert);
  }
  const base = {
    deviceId: device.deviceId,
    subject: cert.subject,
    serialHex: cert.serialHex,
    fingerprintSha256Hex: fingerprint,
  };
  if (device.revoked || revokedSerial)
    return {
      accepted: false,
      reason: 'revoked',
      detail: device.revoked
        ? `revoked by record ${device.revoked.index}: ${device.revoked.reason}`
        : `serial revoked by record ${revokedSerial!.index}`,
      ...base,
    };
  if (device.modemCertSha256Hex !== fingerprint)
    return {
      accepted: false,
      reason: 'not-modem-certificate',
      detail: 'the MCU certificate is not a TLS client certificate',
      ...base,
    };
  return {
    accepted: true,
    reason: 'committed',
    detail: `committed by record ${device.commitIndex}`,
    ...base,
    device,
  };
}
