import * as asn1js from 'asn1js';

/** The parts of an X.509 CRL (RFC 5280 §5.1) a verifier needs. */
export interface ParsedCrl {
  tbsDer: Uint8Array;
  signatureAlgorithmOid: string;
  signature: Uint8Array;
  issuerNameDer: Uint8Array;
  /** Revoked serials, lowercase hex without a sign byte. */
  serialsHex: string[];
}

export class CrlFormatError extends Error {
  override name = 'CrlFormatError';
}

function serialHex(i: asn1js.Integer): string {
  let hex = Buffer.from(i.valueBlock.valueHexView).toString('hex');
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

/** Parses a DER CRL without trusting it; trailing bytes are refused. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  const buf = der.slice().buffer;
  const parsed = asn1js.fromBER(buf);
  if (parsed.offset === -1) throw new CrlFormatError(`CRL is not DER: ${parsed.result.error}`);
  if (parsed.offset !== der.length) throw new CrlFormatError('CRL has trailing bytes');
  const root = parsed.result;
  if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length !== 3)
    throw new CrlFormatError('CRL is not a SEQUENCE of 3');
  const [tbs, alg, sig] = root.valueBlock.value;
  if (
    !(tbs instanceof asn1js.Sequence) ||
    !(alg instanceof asn1js.Sequence) ||
    !(sig instanceof asn1js.BitString)
  )
    throw new CrlFormatError('CRL structure is not tbsCertList, algorithm, signature');
  const oid = alg.valueBlock.value[0];
  if (!(oid instanceof asn1js.ObjectIdentifier)) throw new CrlFormatError('no signature OID');
  const fields = tbs.valueBlock.value;
  let i = 0;
  if (fields[i] instanceof asn1js.Integer) i++; // version
  i++; // signature AlgorithmIdentifier
  const issuer = fields[i++];
  if (!(issuer instanceof asn1js.Sequence)) throw new CrlFormatError('CRL issuer is not a Name');
  i++; // thisUpdate
  if (fields[i] instanceof asn1js.UTCTime || fields[i] instanceof asn1js.GeneralizedTime) i++;
  const serialsHex: string[] = [];
  const revoked = fields[i];
  if (revoked instanceof asn1js.Sequence) {
    for (const entry of revoked.valueBlock.value) {
      const serial = entry instanceof asn1js.Sequence ? entry.valueBlock.value[0] : undefined;
      if (!(serial instanceof asn1js.Integer)) throw new CrlFormatError('bad revoked entry');
      serialsHex.push(serialHex(serial));
    }
  }
  return {
    tbsDer: new Uint8Array(tbs.valueBeforeDecodeView),
    signatureAlgorithmOid: oid.valueBlock.toString(),
    signature: new Uint8Array(sig.valueBlock.valueHexView),
    issuerNameDer: new Uint8Array(issuer.valueBeforeDecodeView),
    serialsHex,
  };
}
