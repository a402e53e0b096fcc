import {
  createFileSigner,
  encodePkcs8,
  generateP256,
  pemEncode,
  spkiFromRaw,
  zeroizeKey,
} from '../certs/index.ts';
import { derTlv } from '../certs/der.ts';
import { OID } from '../certs/oids.ts';
import {
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
} from '../certs/x509-build.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** A server certificate and its key as PEM, for node:tls. */
export interface TlsServerCredentials {
  cert: string;
  key: string;
}

/**
 * A self-signed P-256 server certificate for `localhost` / 127.0.0.1 / ::1 (and `hosts`),
 * valid for one day, made in memory when `keyline serve` is given no --cert/--key. Clients
 * pin it (it is printed) rather than trust it through a CA.
 */
export async function ephemeralServerCertificate(
  hosts: string[] = [],
): Promise<TlsServerCredentials> {
  const key = generateP256();
  const signer = createFileSigner(
    { ...key, secret: key.secret.slice() },
    'memory:ephemeral-server',
  );
  try {
    const spki = spkiFromRaw('p256', key.publicKey);
    const name = encodeName([
      { oid: OID.commonName, value: 'keyline reference server (ephemeral)' },
    ]);
    const dns = ['localhost', ...hosts.filter((h) => !/^[\d.:]+$/.test(h))];
    const ips = ['127.0.0.1', ...hosts.filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h))];
    const san = derTlv(
      0x30,
      ...dns.map((d) => derTlv(0x82, new Uint8Array(Buffer.from(d, 'ascii')))),
      ...ips.map((ip) => derTlv(0x87, new Uint8Array(ip.split('.').map(Number)))),
      derTlv(0x87, new Uint8Array(16).fill(0, 0, 15).fill(1, 15)),
    );
    const notBefore = new Date(Date.now() - 60_000);
    const tbs = encodeTbsCertificate({
      serial: randomSerial(),
      signatureAlgorithm: 'ecdsa-p256-sha256',
      issuerNameDer: name,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 86_400_000),
      subjectNameDer: name,
      subjectPublicKeySpki: spki,
      extensions: [
        encodeExtension(OID.basicConstraints, true, basicConstraintsValue(false)),
        encodeExtension(OID.keyUsage, true, keyUsageValue(['digitalSignature'])),
        encodeExtension(OID.extKeyUsage, false, extKeyUsageValue([SERVER_AUTH])),
        encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(keyIdentifier(spki))),
        encodeExtension(OID.subjectAltName, false, san),
      ],
    });
    const der = await signTbs(tbs, signer, 'ephemeral server certificate');
    const pkcs8 = encodePkcs8(key);
    const out = { cert: pemEncode('CERTIFICATE', der), key: pemEncode('PRIVATE KEY', pkcs8) };
    pkcs8.fill(0);
    return out;
  } finally {
    signer.dispose();
    zeroizeKey(key);
  }
}
