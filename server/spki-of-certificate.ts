/** The certificate's DER is not the X.509 shape this reader expects. */
export class CertificateShapeError extends Error {
  override name = 'CertificateShapeError';
}

/** Reads one DER TLV header at `at`: tag, start of content, end of content. */
function tlv(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  if (at + 2 > der.length) throw new CertificateShapeError('truncated DER');
  const tag = der[at];
  let len = der[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length)
      throw new CertificateShapeError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new CertificateShapeError('DER length past the end');
  return { tag, start, end };
}

/**
 * The SubjectPublicKeyInfo DER inside an X.509 certificate, found by walking the TBS
 * fields (version, serial, signature, issuer, validity, subject, SPKI) without a full
 * parse: importing a million commit records needs each MCU key, and a full ASN.1 parse
 * costs a millisecond where this costs microseconds. The certificate itself was already
 * checked (fingerprint, and chain unless disabled) by the export verifier.
 */
export function spkiOfCertificate(der: Uint8Array): Uint8Array {
  const cert = tlv(der, 0);
  if (cert.tag !== 0x30) throw new CertificateShapeError('certificate is not a SEQUENCE');
  const tbs = tlv(der, cert.start);
  if (tbs.tag !== 0x30) throw new CertificateShapeError('TBSCertificate is not a SEQUENCE');
  let at = tbs.start;
  let field = tlv(der, at);
  if (field.tag === 0xa0) {
    at = field.end;
    field = tlv(der, at);
  }
  // serial, signature, issuer, validity, subject
  for (let i = 0; i < 5; i++) {
    at = field.end;
    field = tlv(der, at);
  }
  if (field.tag !== 0x30) throw new CertificateShapeError('SubjectPublicKeyInfo is not a SEQUENCE');
  return der.subarray(at, field.end);
}
