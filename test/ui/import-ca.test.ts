import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDevelopmentCa } from '../../certs/ca.ts';
import { pemEncode } from '../../certs/der.ts';
import { encryptPrivateKeyPem } from '../../certs/pkcs8-encryption.ts';
import type { Result } from '../../contract/result.ts';
import type { StationStatus } from '../../contract/types.ts';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';

const CUSTOMER_PASS = 'customer key passphrase';
const STATION_PASS = 'imported station passphrase';
let dir: string;
let app: StationApp;
const sent: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-ui-import-'));
  const ca = await createDevelopmentCa({ org: 'Customer Ltd' });
  await writeFile(
    join(dir, 'issuing.pem'),
    pemEncode('CERTIFICATE', ca.issuing.certificateDer) +
      pemEncode('CERTIFICATE', ca.root.certificateDer),
  );
  await writeFile(
    join(dir, 'issuing.key.pem'),
    await encryptPrivateKeyPem(ca.issuing.key, CUSTOMER_PASS, { iterations: 1000 }),
  );
  ca.issuing.key.secret.fill(0);
  ca.root.key.secret.fill(0);
  app = createStationApp({ stationDir: join(dir, 'station'), kdfIterations: 1000 });
  app.events.connect((channel, payload) => sent.push(JSON.stringify({ channel, payload })));
});

after(async () => {
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function call(channel: string, request: unknown): Promise<Result<unknown>> {
  const r = await app.dispatch(channel, request);
  sent.push(JSON.stringify(r));
  return r;
}

test('importing the customer issuing CA from files: wrong key passphrase refused, then unlocked under it', async () => {
  const base = {
    dir: join(dir, 'station'),
    passphrase: STATION_PASS,
    caCertPath: join(dir, 'issuing.pem'),
    caKeyPath: join(dir, 'issuing.key.pem'),
  };
  const missing = await call('station:import-ca', {
    ...base,
    caKeyPath: join(dir, 'nope.pem'),
    caKeyPassphrase: CUSTOMER_PASS,
  });
  assert.ok(!missing.ok && missing.code === 'not-found', JSON.stringify(missing));
  const wrong = await call('station:import-ca', {
    ...base,
    caKeyPassphrase: 'not the key passphrase',
  });
  assert.ok(
    !wrong.ok && wrong.code === 'wrong-passphrase' && wrong.kind === 'operator',
    JSON.stringify(wrong),
  );

  const r = await call('station:import-ca', { ...base, caKeyPassphrase: CUSTOMER_PASS });
  assert.ok(r.ok, JSON.stringify(r));
  const status = r.value as StationStatus;
  assert.equal(status.unlocked, true);
  assert.match(status.issuingCa ?? '', /Customer Ltd/);
  const exported = await call('ledger:export', { outDir: join(dir, 'export') });
  assert.ok(
    exported.ok && (exported.value as { verified: boolean }).verified,
    JSON.stringify(exported),
  );
  for (const s of sent) {
    assert.ok(!s.includes(CUSTOMER_PASS) && !s.includes(STATION_PASS));
    assert.doesNotMatch(s, /PRIVATE KEY/);
  }
});
