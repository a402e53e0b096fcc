import { readStationConfig } from '../station/open-station.ts';
import type { StationConfig } from '../station/layout.ts';
import { readSecret, type SecretSource } from '../station/secret-input.ts';

/** True when the station's signing keys live in a PKCS#11 token (unlocked by its PIN). */
export function stationUsesToken(config: StationConfig): boolean {
  return config.keys.issuingCa.kind === 'pkcs11' || config.keys.ledger.kind === 'pkcs11';
}

/**
 * The secret that unlocks the station in `dir`: the token PIN (KEYLINE_PIN or a prompt)
 * when its keys are in a token, else the station passphrase (KEYLINE_PASSPHRASE or a
 * prompt). Never from argv.
 */
export async function readUnlockSecret(src: SecretSource, dir: string): Promise<string> {
  return stationUsesToken(readStationConfig(dir))
    ? readSecret(src, 'KEYLINE_PIN', 'token PIN')
    : readSecret(src, 'KEYLINE_PASSPHRASE', 'station passphrase');
}
