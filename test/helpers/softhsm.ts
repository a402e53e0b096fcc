import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * A private SoftHSM2 token store for one test file. PKCS#11 modules read their config
 * once per process (at C_Initialize), so a test file sets this up before opening tokens.
 */
export interface SoftHsm {
  dir: string;
  conf: string;
  initToken(label: string, pin: string, soPin?: string): void;
  /**
   * The token's private-key objects as pkcs11-tool lists them (one text block each, with
   * its label and access flags); throws if pkcs11-tool fails.
   */
  listPrivateKeys(tokenLabel: string, pin: string): string[];
  cleanup(): void;
}

export function createSoftHsm(): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    conf,
    initToken(label, pin, soPin = '87654321') {
      execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin],
        {
          env: { ...process.env, SOFTHSM2_CONF: conf },
          stdio: 'pipe',
        },
      );
    },
    listPrivateKeys(tokenLabel, pin) {
      const listing = execFileSync(
        'pkcs11-tool',
        [
          '--module',
          SOFTHSM_MODULE,
          '--token-label',
          tokenLabel,
          '--login',
          '--pin',
          pin,
          '--list-objects',
          '--type',
          'privkey',
        ],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8', stdio: 'pipe' },
      );
      return listing
        .split(/\n(?=Private Key Object)/)
        .filter((b) => b.startsWith('Private Key Object'));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
