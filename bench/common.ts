/** Setup shared by the certificate benchmarks (issuance, token): arguments, boards, issuers. */
import {
  createFileSigner,
  luhnCheckDigit,
  planDeviceCertificates,
  signDevicePlan,
  type DevelopmentCa,
  type HardwareIds,
  type Issuer,
} from '../certs/index.ts';

/** The number after `--name` on the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Valid, distinct hardware IDs for bench board `i` (Luhn-valid IMEI, 96-bit UID). */
export function benchBoard(i: number): HardwareIds {
  const body = `35000000${String(i).padStart(6, '0')}`;
  return {
    imei: body + luhnCheckDigit(body),
    iccid: `8944500102198${String(i).padStart(6, '0')}F`,
    mcuUid: (0x3a0021000b51n * 0x1000000000000n + BigInt(i + 1)).toString(16).padStart(24, '0'),
  };
}

/**
 * An issuer signing with the development issuing CA key in memory. Its signer works on a
 * copy of the key: dispose it when done; the caller still zeroizes `ca`'s keys.
 */
export function memoryIssuer(ca: DevelopmentCa): Issuer {
  return {
    certificateDer: ca.issuing.certificateDer,
    signer: createFileSigner(
      { ...ca.issuing.key, secret: ca.issuing.key.secret.slice() },
      'memory:bench',
    ),
  };
}

/** One board's work: both key pairs and both certificates, then the keys zeroized. */
export async function issueBoard(issuer: Issuer, i: number): Promise<void> {
  const issued = await signDevicePlan(
    planDeviceCertificates({ ids: benchBoard(i), issuerCertificateDer: issuer.certificateDer }),
    issuer,
  );
  issued.zeroize();
}
