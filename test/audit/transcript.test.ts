import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { auditModem, isReadOnlyCommand } from '../../main/audit/index.ts';
import { commandLines, openModem, renderBytes, startSimBoard, testCredentials } from './helpers.ts';

const marker = '--- bytes sent by the station during the audit ---';
const update = process.env.KEYLINE_UPDATE_TRANSCRIPTS === '1';

/**
 * What the station sends while auditing, byte for byte, for a hardened and an exposed EC25
 * after a real credential write (context 1): every line must fit the read-only allow-list,
 * and the whole must match the reviewed golden transcript. Regenerate with
 * KEYLINE_UPDATE_TRANSCRIPTS=1 (the review header is kept) and review the diff.
 */
describe('audit transcripts', () => {
  for (const personality of ['hardened', 'exposed'] as const) {
    it(`${personality}: every line read-only, bytes match docs/transcripts/audit-${personality}.txt`, async () => {
      const path = new URL(`../../docs/transcripts/audit-${personality}.txt`, import.meta.url);
      const board = await startSimBoard({ personality });
      let during: Uint8Array;
      let findings: string[];
      try {
        const modem = await openModem(board);
        try {
          const w = await modem.writeTlsCredentials(testCredentials(1));
          const name = (role: string) => w.files.find((f) => f.role === role)!.name;
          const start = board.sim.received().length;
          const r = await auditModem(modem.engine, {
            family: w.family,
            keyFileName: name('clientkey'),
            keyPrefix: Buffer.from(testCredentials().clientKeyPem, 'latin1').subarray(0, 16),
            tlsContext: 1,
            caFile: name('cacert'),
            certFile: name('clientcert'),
            keyFile: name('clientkey'),
          });
          during = board.sim.received().subarray(start);
          findings = r.findings.map((f) => f.id);
        } finally {
          await modem.close();
        }
      } finally {
        await board.close();
      }
      assert.deepEqual(
        findings,
        personality === 'hardened'
          ? []
          : ['backdoor-command', 'adb-unlock', 'adb-enabled', 'key-readable'],
      );
      const lines = commandLines(during);
      assert.ok(lines.length >= 13);
      for (const line of lines)
        assert.ok(isReadOnlyCommand(line), `not read-only: ${JSON.stringify(line)}`);
      // Nothing but command lines: no data phase, no stray bytes after the last CR.
      assert.equal(during.at(-1), 0x0d);

      const rendered = renderBytes(during);
      const golden = existsSync(path)
        ? readFileSync(path, 'utf8')
        : `# audit (${personality})\n${marker}\n`;
      const at = golden.indexOf(`${marker}\n`);
      assert.ok(at >= 0, `audit-${personality}.txt lacks the "${marker}" line`);
      const header = golden.slice(0, at + marker.length + 1);
      if (update) writeFileSync(path, header + rendered);
      assert.equal(rendered, golden.slice(header.length));
    });
  }
});
