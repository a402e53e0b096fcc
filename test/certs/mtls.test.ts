import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  buildCrl,
  createFileSigner,
  encodePkcs8,
  pemEncode,
  planDeviceCertificates,
  signDevicePlan,
  type DevelopmentCa,
  type IssuedCertificate,
  type IssuedDevice,
  type Issuer,
} from '../../certs/index.ts';
import { BOARD, devCa, makeTempDir, opensslOk } from './helpers.ts';

/**
 * The server's own TLS identity (EKU serverAuth, SAN IP 127.0.0.1), made by openssl and
 * signed with the dev issuing CA key: the device profile is client-only.
 */
async function serverIdentity(
  dir: string,
  ca: DevelopmentCa,
): Promise<{ cert: string; key: string }> {
  writeFileSync(join(dir, 'issuing.key'), pemEncode('PRIVATE KEY', encodePkcs8(ca.issuing.key)), {
    mode: 0o600,
  });
  writeFileSync(
    join(dir, 'srv.cnf'),
    '[srv]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  await opensslOk(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'srv.key'],
    dir,
  );
  await opensslOk(
    ['req', '-new', '-key', 'srv.key', '-subj', '/CN=127.0.0.1', '-out', 'srv.csr'],
    dir,
  );
  await opensslOk(
    [
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'issuing.pem',
      '-CAkey',
      'issuing.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      'srv.cnf',
      '-extensions',
      'srv',
      '-out',
      'srv.pem',
    ],
    dir,
  );
  return {
    cert: readFileSync(join(dir, 'srv.pem'), 'utf8'),
    key: readFileSync(join(dir, 'srv.key'), 'utf8'),
  };
}

interface HandshakeResult {
  /** The server accepted the client certificate and the client read its greeting. */
  ok: boolean;
  /** CN of the client certificate as the server saw it on an accepted connection. */
  serverSawCn?: string;
  /** With rejectUnauthorized off: why the certificate would have been refused. */
  authorizationError?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, value: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(value), ms)))]).finally(
    () => clearTimeout(timer),
  );
}

interface ServerSetup {
  rootPem: string;
  cert: string;
  key: string;
  crl?: string[];
  tlsVersion: tls.SecureVersion;
  /** false only to learn the reason a certificate is refused (node drops the socket silently). */
  rejectUnauthorized?: boolean;
}

async function handshake(
  server: ServerSetup,
  client: { cert: string; key: string; chainPem: string },
): Promise<HandshakeResult> {
  const srv = tls.createServer({
    cert: server.cert,
    key: server.key,
    ca: server.rootPem,
    requestCert: true,
    rejectUnauthorized: server.rejectUnauthorized ?? true,
    minVersion: server.tlsVersion,
    maxVersion: server.tlsVersion,
    ...(server.crl ? { crl: server.crl } : {}),
  });
  // The outcome is what the server decided: in TLS 1.3 the client finishes first.
  const serverOutcome = new Promise<{ cn?: string; authorizationError?: string }>((resolve) => {
    srv.on('secureConnection', (sock) => {
      const authorizationError = sock.authorizationError
        ? String(sock.authorizationError)
        : undefined;
      sock.end(sock.authorized ? 'hello device\n' : '');
      resolve({
        ...(sock.authorized ? { cn: String(sock.getPeerCertificate().subject?.CN ?? '') } : {}),
        ...(authorizationError ? { authorizationError } : {}),
      });
    });
    srv.on('tlsClientError', () => resolve({}));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  try {
    const clientOutcome = new Promise<string>((resolve) => {
      const sock = tls.connect({
        host: '127.0.0.1',
        port,
        // the client presents its leaf + the issuing CA; the server trusts only the root
        cert: client.cert + client.chainPem,
        key: client.key,
        ca: server.rootPem,
      });
      let data = '';
      sock.on('data', (d) => (data += String(d)));
      sock.on('end', () => resolve(data));
      sock.on('error', () => {
        sock.destroy();
        resolve(data);
      });
    });
    const [s, data] = await Promise.all([
      withTimeout(serverOutcome, 20_000, {}),
      withTimeout(clientOutcome, 20_000, ''),
    ]);
    return {
      ok: s.cn !== undefined && data === 'hello device\n',
      ...(s.cn !== undefined ? { serverSawCn: s.cn } : {}),
      ...(s.authorizationError ? { authorizationError: s.authorizationError } : {}),
    };
  } finally {
    srv.close();
  }
}

const keyText = (c: IssuedCertificate) => Buffer.from(c.privateKeyPem!).toString('latin1');

describe('mutual TLS with issued device certificates (node:tls on 127.0.0.1)', () => {
  const tmp = makeTempDir('mtls');
  let ca: DevelopmentCa;
  let issuer: Issuer;
  let device: IssuedDevice;
  let serverId: { cert: string; key: string };
  let rootPem: string;
  let issuingPem: string;
  before(async () => {
    const d = await devCa(tmp.dir);
    ca = d.ca;
    issuer = d.issuer;
    rootPem = pemEncode('CERTIFICATE', ca.root.certificateDer);
    issuingPem = pemEncode('CERTIFICATE', ca.issuing.certificateDer);
    serverId = await serverIdentity(tmp.dir, ca);
    device = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: issuer.certificateDer }),
      issuer,
    );
  });
  after(() => {
    device.zeroize();
    issuer.signer.dispose();
    tmp.cleanup();
  });

  for (const tlsVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`accepts the modem certificate chaining to the root (${tlsVersion})`, async () => {
      const r = await handshake(
        { rootPem, cert: serverId.cert + issuingPem, key: serverId.key, tlsVersion },
        { cert: device.modem.certificatePem, key: keyText(device.modem), chainPem: issuingPem },
      );
      assert.deepEqual(r, { ok: true, serverSawCn: device.deviceId });
    });
  }

  it('rejects a certificate issued by another CA', async () => {
    const other = await devCa(tmp.dir, 'Mallory');
    const rogue = await signDevicePlan(
      planDeviceCertificates({ ids: BOARD, issuerCertificateDer: other.issuer.certificateDer }),
      other.issuer,
    );
    const client = {
      cert: rogue.modem.certificatePem,
      key: keyText(rogue.modem),
      chainPem: pemEncode('CERTIFICATE', other.ca.issuing.certificateDer),
    };
    const server = {
      rootPem,
      cert: serverId.cert + issuingPem,
      key: serverId.key,
      tlsVersion: 'TLSv1.2' as const,
    };
    assert.deepEqual(await handshake(server, client), { ok: false });
    const why = await handshake({ ...server, rejectUnauthorized: false }, client);
    assert.match(
      why.authorizationError ?? '',
      /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED|UNABLE_TO_VERIFY/,
    );
    rogue.zeroize();
    other.issuer.signer.dispose();
  });

  it('rejects a revoked certificate when the server loads the CRL', async () => {
    const crl = await buildCrl({
      issuer,
      crlNumber: 1,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 86_400_000),
      entries: [
        {
          serialHex: device.mcu.serialHex,
          revokedAt: new Date(Date.now() - 60_000),
          reason: 'cessationOfOperation',
        },
      ],
    });
    // node checks CRLs for the whole chain: the root publishes an (empty) one too
    const rootSigner = createFileSigner(
      { ...ca.root.key, secret: ca.root.key.secret.slice() },
      'memory:root',
    );
    const rootCrl = await buildCrl({
      issuer: { certificateDer: ca.root.certificateDer, signer: rootSigner },
      crlNumber: 1,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 86_400_000),
      entries: [],
    });
    rootSigner.dispose();
    const server = {
      rootPem: rootPem + issuingPem,
      cert: serverId.cert + issuingPem,
      key: serverId.key,
      crl: [crl.pem, rootCrl.pem],
      tlsVersion: 'TLSv1.2' as const,
    };
    const client = {
      cert: device.mcu.certificatePem,
      key: keyText(device.mcu),
      chainPem: issuingPem,
    };
    assert.deepEqual(await handshake(server, client), { ok: false });
    const why = await handshake({ ...server, rejectUnauthorized: false }, client);
    assert.equal(why.authorizationError, 'CERT_REVOKED');
    // the same server still lets the board's other, unrevoked certificate in
    const modem = {
      cert: device.modem.certificatePem,
      key: keyText(device.modem),
      chainPem: issuingPem,
    };
    assert.deepEqual(await handshake(server, modem), { ok: true, serverSawCn: device.deviceId });
  });
});
