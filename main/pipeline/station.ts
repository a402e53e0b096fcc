import { pemDecodeAll, pemEncode } from '../../certs/index.ts';
import { openStation, type OpenStationOptions, type Station } from '../station/index.ts';
import type { UnlockedStation } from './line.ts';

/** An unlocked station as the line uses it; close() disposes the signers. */
export interface LineStation extends UnlockedStation {
  readonly station: Station;
  close(): void;
}

/** The line's view of a station from main/station (signers unlocked by the passphrase). */
export function lineStation(station: Station): LineStation {
  const chain = pemDecodeAll(station.issuer.chainPem)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der);
  const last = chain.at(-1);
  const rootPem =
    station.root?.certificatePem ??
    (last ? pemEncode('CERTIFICATE', last) : station.issuer.certificatePem);
  return {
    station,
    dir: station.dir,
    stationId: station.stationId,
    issuer: station.issuer,
    ledgerSigner: station.ledgerSigner,
    caChainDer: chain.length > 0 ? chain : [station.issuer.certificateDer],
    rootCertificatePem: rootPem,
    close: () => station.close(),
  };
}

/** Unlocks the station in `dir` (wrong passphrases back off and lock; see main/station). */
export async function unlockStation(
  dir: string,
  passphrase: string,
  opts?: OpenStationOptions,
): Promise<LineStation> {
  return lineStation(await openStation(dir, passphrase, opts));
}
