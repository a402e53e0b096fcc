import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LedgerWriter, exportLedger } from '../../main/ledger/index.ts';
import { tempDir, testEd25519Signer } from '../ledger/helpers.ts';
import { issueBoard, testPki } from '../ledger/pki.ts';

// Issue 12: what the station's audit found travels in the signed commit record, and
// `keyline ledger verify` shows it per device.
const repo = new URL('../../', import.meta.url).pathname;
const tmp = tempDir('verify-findings');
let exportDir: string;
let exposedId: string;
let cleanId: string;

before(async () => {
  const pki = await testPki();
  const writer = await LedgerWriter.open(join(tmp.path, 'ledger'), {
    signer: testEd25519Signer(8),
    stationId: 'st-findings',
    caChainDer: pki.chainDer,
  });
  const exposed = await issueBoard(pki, 61);
  const clean = await issueBoard(pki, 62);
  const e = await writer.append(exposed.intent);
  await writer.append({
    ...exposed.commit(e.index),
    modemKeyReadable: true,
    findings: [
      { id: 'adb-unlock', severity: 'critical', summary: 'AT+QADBKEY? answers an ADB unlock salt' },
      {
        id: 'key-readable',
        severity: 'high',
        summary: 'written TLS client key can be read back over AT',
      },
    ],
  } as ReturnType<typeof exposed.commit>);
  const c = await writer.append(clean.intent);
  await writer.append({ ...clean.commit(c.index), findings: [] } as ReturnType<
    typeof clean.commit
  >);
  exposedId = exposed.issued.deviceId;
  cleanId = clean.issued.deviceId;
  exportDir = join(tmp.path, 'export');
  await exportLedger(writer, { outDir: exportDir, issuer: pki.issuer, caChainDer: pki.chainDer });
  await writer.close();
});
after(() => tmp.remove());

test('ledger verify lists each device with audit findings (text and JSON), and only those', () => {
  const text = execFileSync(process.execPath, ['bin/keyline.mjs', 'ledger', 'verify', exportDir], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.match(text, /^OK: records/);
  assert.match(
    text,
    new RegExp(
      `audit findings #\\d+ ${exposedId}: adb-unlock \\(critical\\), key-readable \\(high\\); modem key readable over AT`,
    ),
  );
  assert.ok(!text.includes(cleanId), 'a clean device is not listed');

  const json = JSON.parse(
    execFileSync(process.execPath, ['bin/keyline.mjs', 'ledger', 'verify', exportDir, '--json'], {
      cwd: repo,
      encoding: 'utf8',
    }),
  ) as {
    ok: boolean;
    devicesWithFindings: {
      deviceId: string;
      modemKeyReadable: boolean;
      findings: { id: string }[];
    }[];
  };
  assert.equal(json.ok, true);
  assert.equal(json.devicesWithFindings.length, 1);
  assert.equal(json.devicesWithFindings[0].deviceId, exposedId);
  assert.equal(json.devicesWithFindings[0].modemKeyReadable, true);
  assert.deepEqual(
    json.devicesWithFindings[0].findings.map((f) => f.id),
    ['adb-unlock', 'key-readable'],
  );
});

test('the findings are covered by the signatures: altering one fails verify', () => {
  const records = join(exportDir, 'records.jsonl');
  const altered = join(tmp.path, 'altered');
  execFileSync('cp', ['-r', exportDir, altered]);
  const bytes = execFileSync('cat', [join(altered, 'records.jsonl')]).toString();
  const edited = bytes.replace('"id":"adb-unlock"', '"id":"adb-unlocX"');
  assert.notEqual(edited, bytes, `expected the finding in ${records}`);
  execFileSync('bash', ['-c', `cat > ${join(altered, 'records.jsonl')}`], { input: edited });
  const r = spawnSync(process.execPath, ['bin/keyline.mjs', 'ledger', 'verify', altered], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ledger verify FAILED/);
});
