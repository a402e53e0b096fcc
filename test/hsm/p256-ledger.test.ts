import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSignedCheckpoint } from '../../ledger/checkpoint.ts';
import { LedgerWriter, ledgerDirOf } from '../../main/ledger/index.ts';
import { ledgerPort } from '../../main/pipeline/adapters/ledger.ts';
import { openStation } from '../../main/station/index.ts';
import { importExport, SqliteDeviceStore } from '../../server/index.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';
import { keyline } from './helpers.ts';

const PIN = '314159';

describe('a P-256 ledger key in the token: checkpoints, ledger verify and the server import', () => {
  let hsm: SoftHsm;
  let work: string;
  let stationDir: string;
  const env = () => ({
    SOFTHSM2_CONF: hsm.conf,
    KEYLINE_PIN: PIN,
    KEYLINE_PASSPHRASE: 'root key pass',
  });

  before(async () => {
    hsm = createSoftHsm();
    hsm.initToken('p256', PIN);
    work = mkdtempSync(join(tmpdir(), 'keyline-hsm-p256-'));
    stationDir = join(work, 'station');
    const r = await keyline(
      [
        'ca',
        'init',
        '--station',
        stationDir,
        '--pkcs11',
        SOFTHSM_MODULE,
        '--token',
        'p256',
        '--ledger-key',
        'p256',
        '--json',
      ],
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { keys: { ledger: { algorithm: string } } };
    assert.equal(info.keys.ledger.algorithm, 'ecdsa-p256-sha256');
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    hsm.cleanup();
  });

  it('the station signs ECDSA checkpoints; the export verifies and the server imports it', async () => {
    const station = await openStation(stationDir, PIN);
    try {
      assert.equal(station.ledgerSigner.algorithm, 'ecdsa-p256-sha256');
      const w = await LedgerWriter.open(ledgerDirOf(stationDir), {
        signer: station.ledgerSigner,
        stationId: station.stationId,
        caChainDer: [station.issuer.certificateDer],
      });
      try {
        await ledgerPort(w).startBatch({
          batch: 'b1',
          profile: 'p',
          operator: 'op',
          requested: { perBatch: 5, perHour: 50 },
        });
      } finally {
        await w.close();
      }
    } finally {
      station.close();
    }
    const out = join(work, 'export');
    const e = await keyline(['ledger', 'export', '--station', stationDir, '--out', out], env());
    assert.equal(e.code, 0, e.stderr);
    const cp = parseSignedCheckpoint(
      JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')),
    );
    assert.equal(cp.checkpoint.algorithm, 'ecdsa-p256-sha256');
    const v = await keyline(['ledger', 'verify', out], env());
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const store = new SqliteDeviceStore(join(work, 'devices.sqlite'));
    try {
      importExport(store, out);
      const stored = store.checkpoint(cp.checkpoint.stationId);
      assert.equal(stored?.treeSize, cp.checkpoint.treeSize);
    } finally {
      store.close();
    }
  });
});
