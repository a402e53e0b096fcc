/**
 * The operator UI end to end, in Chromium over the loopback bridge, against the virtual
 * fixture: set up a station, run a 4-slot batch to PASS, inject a fault and see the FAIL
 * reason, re-run, search the ledger, revoke, export and verify. Waits only on state the
 * app reports (roles, test ids, data attributes), never on time.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createStationApp, type StationApp } from '../../main/app/station-app.ts';
import { buildRenderer } from '../../main/bridge/build-renderer.ts';
import { startBridge, type BridgeServer } from '../../main/bridge/server.ts';
import { bridgePage, launchChromium } from '../helpers/chromium.ts';

const PASSPHRASE = 'e2e station passphrase 7f3a';
const shots = join(import.meta.dirname, '..', '..', 'test-output');
const long = { timeout: 180_000 };

let dir: string;
let app: StationApp;
let bridge: BridgeServer;
let watchBridge: BridgeServer;
let browser: Browser;
let page: Page;
/** Every WebSocket frame the renderer received. */
const received: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyline-e2e-'));
  await mkdir(shots, { recursive: true });
  const rendererDir = await buildRenderer(join(dir, 'renderer'));
  app = createStationApp({
    stationDir: join(dir, 'station'),
    kdfIterations: 1000,
    virtualFixture: { latencyScale: 0.1 },
  });
  bridge = await startBridge({ port: 0, rendererDir, dispatch: app.dispatch, events: app.events });
  watchBridge = await startBridge({
    port: 0,
    rendererDir,
    dispatch: app.dispatch,
    events: app.events,
    access: 'watch',
  });
  browser = await launchChromium();
  page = await bridgePage(browser, received);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(bridge.url);
});

after(async () => {
  await browser?.close();
  await bridge?.close();
  await watchBridge?.close();
  await app?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const tile = (n: number) => page.getByTestId(`slot-${n}`);
const tab = (name: string) =>
  page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name, exact: true });

async function waitPhases(expected: Record<number, string>): Promise<void> {
  for (const [n, phase] of Object.entries(expected)) {
    await page.waitForSelector(`[data-testid="slot-${n}"][data-phase="${phase}"]`, long);
  }
}

test('station setup: create a development CA, see the fingerprint, choose a profile', async () => {
  await page.getByLabel('Station passphrase (min. 8 characters)').fill(PASSPHRASE);
  await page.getByLabel('Repeat passphrase').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Create station' }).click();
  await page.getByTestId('station-state').filter({ hasText: 'unlocked' }).waitFor(long);
  const fingerprint = await page.getByTestId('station-fingerprint').innerText();
  assert.match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  await page.getByRole('radio', { name: /demo-virtual/ }).click();
  await page.getByTestId('station-badge').filter({ hasText: 'Profile: demo-virtual' }).waitFor();
});

test('virtual fixture: 4 slots, a batch runs to all PASS', async () => {
  // Keyboard only: from the Station tab, Tab reaches the Fixture tab, with a visible focus ring.
  await tab('Station').focus();
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    return { text: el.textContent, outline: getComputedStyle(el).outlineStyle };
  });
  assert.deepEqual(focused, { text: 'Fixture', outline: 'solid' });
  await page.keyboard.press('Enter');
  await page.getByLabel('Boards').fill('4');
  await page.getByRole('button', { name: 'Start virtual fixture' }).click();
  await page.getByTestId('virtual-running').waitFor(long);
  for (const n of [1, 2, 3, 4]) await tile(n).waitFor();
  // The slot table lists the simulated ports, assigned one slot each.
  const modem1 = await page.getByLabel('Modem port for slot 1').inputValue();
  assert.match(modem1, /keyline-virtual-fixture-/);
  // Port discovery lists the simulated PTYs; the assignment is saved as a named layout.
  await page.getByRole('button', { name: 'Refresh ports' }).click();
  await page.getByText(/^(8|9|\d\d+) ports found$/).waitFor();
  await page.getByLabel('Layout name').fill('virtual-4');
  await page.getByRole('button', { name: 'Save layout' }).click();
  await page.getByRole('button', { name: 'Load virtual-4' }).waitFor();
  await page.getByRole('button', { name: 'Start batch' }).click();
  await page.locator('[data-testid="batch-state"][data-running="true"]').waitFor(long);
  await waitPhases({ 1: 'pass', 2: 'pass', 3: 'pass', 4: 'pass' });
  await page.locator('[data-testid="batch-state"][data-running="false"]').waitFor(long);
  assert.equal(await page.getByTestId('passed-count').innerText(), '4');
  assert.equal(await page.getByTestId('pass-rate').innerText(), '100%');
  const imei = await tile(1).locator('dd').first().innerText();
  assert.match(imei, /^\d{15}$/);
  await page.screenshot({ path: join(shots, 'fixture-pass.png'), fullPage: true });
});

test('an injected fault fails its slot with the reason; a re-run with a good board passes', async () => {
  await tile(2).getByLabel('Fault for slot 2').selectOption('upload-cme-409');
  await tile(2).getByRole('button', { name: 'Inject fault into slot 2' }).click();
  await page.getByRole('button', { name: 'Start batch' }).click();
  await waitPhases({ 1: 'pass', 2: 'fail', 3: 'pass', 4: 'pass' });
  const verdict = await page.getByTestId('slot-2-verdict').innerText();
  assert.match(verdict, /FAIL/);
  assert.match(verdict, /modem-write/);
  const reason = await page.getByTestId('slot-2-failure').innerText();
  assert.match(reason, /AT\+QFUPL/);
  assert.match(reason, /device: \+CME ERROR: 409/);
  await page.locator('[data-testid="batch-state"][data-running="false"]').waitFor(long);
  assert.equal(await page.getByTestId('failed-count').innerText(), '1');
  await page.getByTestId('throughput').getByText('modem-write').waitFor();
  await page.screenshot({ path: join(shots, 'fixture-fail.png'), fullPage: true });

  await page.getByRole('button', { name: 'Re-run slot 2' }).click();
  await waitPhases({ 2: 'pass' });
  // Throughput counts boards of the current batch: 3 good, the faulted one, its replacement.
  await page.getByTestId('passed-count').filter({ hasText: /^4$/ }).waitFor();
  assert.equal(await page.getByTestId('failed-count').innerText(), '1');
  assert.equal(await page.getByTestId('pass-rate').innerText(), '80%');
});

test('ledger: search by IMEI, decoded certificates, revoke, export and verify', async () => {
  const imei = await tile(3).locator('dd').first().innerText();
  const deviceId = await tile(3).locator('dd').nth(3).innerText();
  await tab('Ledger').click();
  await page.getByLabel('IMEI, ICCID, MCU UID or device ID').fill(imei);
  await page.getByRole('button', { name: 'Search' }).click();
  const results = page.getByTestId('ledger-results');
  await results.getByText(deviceId).waitFor();
  assert.equal(await results.locator('tbody tr').count(), 1);
  await page.getByRole('button', { name: `Details of ${deviceId}` }).click();
  const detail = page.getByTestId('device-detail');
  await detail.getByText('Modem TLS certificate').waitFor();
  await detail.getByText('MCU certificate').waitFor();
  assert.match(await detail.innerText(), new RegExp(`CN=${deviceId}`));
  assert.match(await detail.innerText(), new RegExp(imei));

  await detail.getByRole('button', { name: 'Revoke device' }).click();
  await detail.getByRole('button', { name: `Confirm revocation of ${deviceId}` }).click();
  await page.getByTestId('device-status').filter({ hasText: 'revoked' }).waitFor();

  await page.getByLabel('Destination folder').fill(join(dir, 'export'));
  await page.getByRole('button', { name: 'Export ledger' }).click();
  const result = page.getByTestId('export-result');
  await result.waitFor(long);
  assert.equal(await result.getAttribute('data-verified'), 'true', await result.innerText());
  await page.screenshot({ path: join(shots, 'ledger.png'), fullPage: true });

  // Empty search lists the newest devices: the 4 + 3 good boards and the faulted one.
  await page.getByLabel('IMEI, ICCID, MCU UID or device ID').fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await results.locator('caption').filter({ hasText: '9 devices' }).waitFor();
});

test('a supervisor watch view shows the same live station with every control disabled', async () => {
  const watcher = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await watcher.goto(watchBridge.url);
    await watcher.getByTestId('watch-only').waitFor();
    assert.equal(await watcher.getByRole('button', { name: 'Lock station' }).isDisabled(), true);
    await watcher
      .getByRole('navigation', { name: 'Views' })
      .getByRole('button', { name: 'Fixture', exact: true })
      .click();
    await watcher.locator('[data-testid="slot-2"][data-phase="pass"]').waitFor(long);
    assert.equal(await watcher.getByRole('button', { name: 'Start batch' }).isDisabled(), true);
    assert.equal(
      await watcher.getByRole('button', { name: 'Stop virtual fixture' }).isDisabled(),
      true,
    );
  } finally {
    await watcher.close();
  }
});

test('nothing the renderer received holds a private key or the passphrase; no page errors', () => {
  assert.ok(received.length > 20, `only ${received.length} frames captured`);
  for (const frame of received) {
    assert.doesNotMatch(frame, /PRIVATE KEY/);
    assert.ok(!frame.includes(PASSPHRASE), 'the passphrase came back to the renderer');
  }
  assert.deepEqual(pageErrors, []);
});
