import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ProfileError,
  loadProfile,
  parseProfile,
  resolveServerCaPem,
} from '../../main/profile/index.ts';

const root = new URL('../../', import.meta.url).pathname;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kl-profile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function minimal(): Record<string, unknown> {
  return {
    formatVersion: 1,
    name: 'p',
    modem: { serverCa: { kind: 'station-root' } },
    mcu: {
      family: 'G0',
      credentialArea: { address: '0x0801F800', size: 2048 },
      firmwareRegion: { start: '0x08000000', end: '0x0801F800' },
    },
    endToEnd: { serverPublicKeyHex: '04' + 'ab'.repeat(64) },
    caps: { perBatch: 10, perHour: 20 },
  };
}

function issuesOf(value: unknown): string[] {
  try {
    parseProfile(value, 'test.json');
  } catch (e) {
    assert.ok(e instanceof ProfileError);
    return e.issues.map((i) => `${i.field}: ${i.message}`);
  }
  assert.fail('profile was accepted');
}

test('the shipped profiles validate', async () => {
  const demo = await loadProfile(join(root, 'profiles/demo.json'));
  assert.equal(demo.profile.mcu.parity, 'none');
  assert.equal(demo.profile.mcu.credentialArea.address, 0x080e0000);
  const real = await loadProfile(join(root, 'profiles/ec25-stm32f4.json'));
  assert.equal(real.profile.mcu.parity, 'even');
  assert.equal(real.profile.mcu.readoutProtection, true);
  const pem = await resolveServerCaPem(real, '');
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
});

test('a minimal profile gets its documented defaults and hex addresses become numbers', () => {
  const p = parseProfile(minimal());
  assert.equal(p.modem.baudRate, 115200);
  assert.equal(p.modem.parity, 'none');
  assert.equal(p.modem.tlsContext, 1);
  assert.equal(p.mcu.parity, 'even', 'a real STM32 UART is 8E1 unless the profile says otherwise');
  assert.equal(p.mcu.readoutProtection, false);
  assert.equal(p.mcu.credentialArea.address, 0x0801f800);
  assert.equal(p.certificates.validityDays, 3650);
  assert.equal(p.certificates.sanMode, 'plain');
  assert.equal(p.timeouts.slotMs, 600_000);
  assert.equal(p.audit.enabled, true, 'the module audit runs unless a profile turns it off');
  assert.equal(p.audit.actions['backdoor-command'], 'fail');
});

test('errors name the field', () => {
  const cases: Array<[(p: Record<string, unknown>) => void, RegExp]> = [
    [(p) => ((p.mcu as Record<string, unknown>).family = 'Z9'), /^mcu\.family: /],
    [(p) => (p.caps = { perBatch: 0, perHour: 1 }), /^caps\.perBatch: /],
    [(p) => delete p.caps, /^caps: /],
    [
      (p) => (p.endToEnd = { serverPublicKeyHex: '02abcd' }),
      /^endToEnd\.serverPublicKeyHex: must be an uncompressed/,
    ],
    [(p) => ((p.modem as Record<string, unknown>).tlsContext = 9), /^modem\.tlsContext: /],
    [(p) => ((p.modem as Record<string, unknown>).baudRate = 'fast'), /^modem\.baudRate: /],
    [(p) => ((p.modem as Record<string, unknown>).serverCa = { kind: 'url' }), /^modem\.serverCa/],
    [(p) => ((p.modem as Record<string, unknown>).colour = 'red'), /^modem: .*colour/],
    [(p) => (p.formatVersion = 2), /^formatVersion: /],
    [(p) => (p.name = 'has space'), /^name: /],
    [
      (p) =>
        ((p.mcu as Record<string, unknown>).credentialArea = { address: '0x8000000', size: 2048 }),
      /^mcu\.credentialArea: overlaps the firmware region/,
    ],
    [
      (p) =>
        ((p.mcu as Record<string, unknown>).credentialArea = { address: 'sector 11', size: 2048 }),
      /^mcu\.credentialArea\.address: must be a hex string/,
    ],
    [
      (p) => ((p.mcu as Record<string, unknown>).firmwareRegion = { start: 100, end: 100 }),
      /^mcu\.firmwareRegion\.end: must be greater/,
    ],
    [(p) => (p.certificates = { sanMode: 'hashed' }), /^certificates\.sanSalt: is required/],
  ];
  for (const [mutate, expected] of cases) {
    const p = minimal();
    mutate(p);
    const issues = issuesOf(p);
    assert.ok(
      issues.some((i) => expected.test(i)),
      `${expected}: got ${JSON.stringify(issues)}`,
    );
  }
});

test('the error message names the file and the first bad field', () => {
  const p = minimal();
  p.caps = { perBatch: -1, perHour: 1 };
  assert.throws(() => parseProfile(p, '/x/line.json'), /profile \/x\/line\.json: caps\.perBatch /);
});

test('files: unreadable, not JSON, relative serverCa path, CRLF normalised', async () => {
  await assert.rejects(loadProfile(join(dir, 'missing.json')), /cannot be read \(ENOENT\)/);
  await writeFile(join(dir, 'bad.json'), '{ nope');
  await assert.rejects(loadProfile(join(dir, 'bad.json')), /is not JSON/);

  const p = minimal();
  p.modem = { serverCa: { kind: 'file', path: 'ca.pem' } };
  await writeFile(join(dir, 'line.json'), JSON.stringify(p));
  const loaded = await loadProfile(join(dir, 'line.json'));
  await assert.rejects(resolveServerCaPem(loaded, ''), /modem\.serverCa\.path cannot read/);
  await writeFile(
    join(dir, 'ca.pem'),
    '-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----',
  );
  assert.equal(
    await resolveServerCaPem(loaded, ''),
    '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  );
  await writeFile(join(dir, 'ca.pem'), 'not a cert');
  await assert.rejects(resolveServerCaPem(loaded, ''), /holds no PEM certificate/);
  const station = parseProfile(minimal());
  assert.equal(
    await resolveServerCaPem({ profile: station, source: 's', baseDir: dir }, 'ROOT\r\n'),
    'ROOT\n',
  );
});
