import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPkcs11Station } from '../../main/hsm/pkcs11-station.ts';
import {
  openStation,
  STATION_FILES,
  StationPinError,
  UnlockBackoffError,
  UnlockLockedError,
} from '../../main/station/index.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';
import { keyline } from './helpers.ts';

const PIN = '975311';

describe('wrong token PINs back off and lock the station, through openStation and the CLI', () => {
  let hsm: SoftHsm;
  let work: string;
  let dir: string;

  before(async () => {
    hsm = createSoftHsm();
    hsm.initToken('pins', PIN);
    work = mkdtempSync(join(tmpdir(), 'keyline-hsm-pin-'));
    dir = join(work, 'station');
    await createPkcs11Station(dir, { module: SOFTHSM_MODULE, token: 'pins' }, PIN, {
      rootPassphrase: 'root passphrase here',
      kdfIterations: 1000,
      unlock: { maxAttempts: 10, backoffBaseMs: 1000, backoffMaxMs: 60_000 },
    });
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    hsm.cleanup();
  });

  it('the right PIN opens it; the CLI reports a wrong PIN on one line with the attempts left', async () => {
    const st = await openStation(dir, PIN);
    st.close();
    const env = { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: '000000' };
    const r = await keyline(['ledger', 'export', '--station', dir, '--out', join(work, 'x')], env);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /wrong token PIN \(1 failed, 9 left before the station locks\)/);
    assert.doesNotMatch(r.stderr, /000000/, 'the PIN is never echoed');
  });

  it('ten wrong PINs: back-off after each, lock at the tenth; a restart and a right PIN stay locked', async () => {
    let clock = Date.now() + 60_000;
    const now = () => clock;
    for (let i = 2; i <= 10; i++) {
      const err = await openStation(dir, '111111', { now }).catch((e: unknown) => e);
      if (i < 10) {
        assert.ok(err instanceof StationPinError, `attempt ${i}: ${String(err)}`);
        assert.equal(err.attemptsLeft, 10 - i);
        const early = await openStation(dir, PIN, { now }).catch((e: unknown) => e);
        assert.ok(
          early instanceof UnlockBackoffError,
          `back-off after failure ${i}: ${String(early)}`,
        );
        assert.equal(early.retryAfterMs, Math.min(60_000, 1000 * 2 ** (i - 1)), 'doubles, capped');
        clock += 60_001;
      } else {
        assert.ok(err instanceof UnlockLockedError, `attempt 10 locks: ${String(err)}`);
      }
    }
    const state = JSON.parse(readFileSync(join(dir, STATION_FILES.unlockState), 'utf8')) as {
      locked: boolean;
    };
    assert.equal(state.locked, true, 'the lock is on disk');
    clock += 7 * 24 * 3600_000;
    const right = await openStation(dir, PIN, { now }).catch((e: unknown) => e);
    assert.ok(right instanceof UnlockLockedError, String(right));
    assert.match((right as Error).message, /locked after 10 wrong attempts/);
  });

  it('a new process with the right PIN is refused with a clear message', async () => {
    const env = { SOFTHSM2_CONF: hsm.conf, KEYLINE_PIN: PIN };
    const out = join(work, 'export');
    const r = await keyline(['ledger', 'export', '--station', dir, '--out', out], env);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /locked after 10 wrong attempts; an administrator must reset/);
    assert.equal(existsSync(join(out, 'checkpoint.json')), false, 'nothing was exported');
  });
});
