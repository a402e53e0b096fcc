import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrustedSender } from '../../main/electron/sender.ts';

const trusted = { rendererFileUrl: 'file:///opt/keyline/out/renderer/index.html', devUrl: null };
const dev = { ...trusted, devUrl: 'http://localhost:5173/' };
const main = { isMainFrame: true, fromStationWindow: true };

test('only the station window main frame at our renderer file or dev URL is trusted', () => {
  assert.equal(
    isTrustedSender({ ...main, url: 'file:///opt/keyline/out/renderer/index.html' }, trusted),
    true,
  );
  assert.equal(
    isTrustedSender({ ...main, url: 'file:///opt/keyline/out/renderer/index.html#x' }, trusted),
    true,
  );
  assert.equal(isTrustedSender({ ...main, url: 'file:///tmp/evil.html' }, trusted), false);
  assert.equal(isTrustedSender({ ...main, url: 'http://localhost:5173/' }, trusted), false);
  assert.equal(isTrustedSender({ ...main, url: 'http://localhost:5173/index.html' }, dev), true);
  assert.equal(isTrustedSender({ ...main, url: 'http://localhost:5174/' }, dev), false);
  assert.equal(isTrustedSender({ ...main, url: 'https://example.com/' }, dev), false);
  assert.equal(isTrustedSender({ ...main, url: 'not a url' }, dev), false);
  assert.equal(
    isTrustedSender(
      { isMainFrame: false, fromStationWindow: true, url: trusted.rendererFileUrl },
      trusted,
    ),
    false,
  );
  assert.equal(
    isTrustedSender(
      { isMainFrame: true, fromStationWindow: false, url: trusted.rendererFileUrl },
      trusted,
    ),
    false,
  );
});
