/**
 * A station whose keys are in a PKCS#11 token (SoftHSM2), unlocked from the operator UI in
 * Chromium over the loopback bridge: the form asks for the token PIN, a wrong PIN is
 * refused with the attempts left, the right one unlocks, and the PIN never comes back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';
import { buildRenderer } from '../../main/bridge/build-renderer.ts';
import { startBridge, type BridgeServer } from '../../main/bridge/server.ts';
import { createPkcs11Station } from '../../main/hsm/pkcs11-station.ts';
import { bridgePage, launchChromium } from '../helpers/chromium.ts';
import { createSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.ts';

const PIN = '864209';
const WRONG_PIN = '135797';

let dir: string;
let hsm: SoftHsm;
let app: StationApp;
let bridge: BridgeServer;
let browser: Browser;
let page: Page;
/** Every WebSocket frame the renderer received. */
const received: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-e2e-token-'));
  hsm = createSoftHsm();
  hsm.initToken('ui-station', PIN);
  await createPkcs11Station(
    join(dir, 'station'),
    { module: SOFTHSM_MODULE, token: 'ui-station' },
    PIN,
    {
      rootPassphrase: 'root passphrase for the UI test',
      kdfIterations: 1000,
      unlock: { maxAttempts: 10, backoffBaseMs: 0, backoffMaxMs: 0 },
    },
  );
  const rendererDir = await buildRenderer(join(dir, 'renderer'));
  app = createStationApp({ stationDir: join(dir, 'station'), kdfIterations: 1000 });
  bridge = await startBridge({ port: 0, rendererDir, dispatch: app.dispatch, events: app.events });
  browser = await launchChromium();
  page = await bridgePage(browser, received);
  await page.goto(bridge.url);
});

after(async () => {
  await browser?.close();
  await bridge?.close();
  await app?.dispose();
  await rm(dir, { recursive: true, force: true });
  hsm?.cleanup();
});

test('the unlock form asks a token station for its PIN, refuses a wrong one, opens with the right one', async () => {
  await page.getByTestId('station-state').filter({ hasText: 'locked' }).waitFor();
  assert.equal(await page.getByLabel('Passphrase', { exact: true }).count(), 0);
  const pin = page.getByLabel('Token PIN');
  assert.match((await pin.getAttribute('aria-describedby')) ?? '', /unlock-pass-hint/);

  await pin.fill(WRONG_PIN);
  await page.getByRole('button', { name: 'Unlock' }).click();
  const error = page.getByTestId('unlock-error');
  await error.waitFor();
  assert.match(
    await error.innerText(),
    /wrong token PIN \(1 failed, 9 left before the station locks\)/,
  );
  await page.getByText('Attempts left before lockout: 9').waitFor();
  assert.equal(await pin.inputValue(), '', 'the field is cleared after a try');

  await pin.fill(PIN);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByTestId('station-state').filter({ hasText: 'unlocked' }).waitFor();
  assert.equal(await page.getByTestId('station-state').innerText(), 'unlocked');
  assert.match(await page.getByText('pkcs11', { exact: true }).innerText(), /pkcs11/);

  const frames = received.join('\n');
  assert.ok(frames.includes('"unlocked":true'), 'the test saw the status frames');
  for (const secret of [PIN, WRONG_PIN]) assert.ok(!frames.includes(secret), 'no PIN sent back');
});
