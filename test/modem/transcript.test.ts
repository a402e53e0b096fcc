import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openQuectelModem } from '../../main/modem/index.ts';
import { realModem, renderTranscript, startBoard, testCredentials } from './helpers/sim-modem.ts';

const marker = '--- bytes sent by the station ---';
const update = process.env.KEYLINE_UPDATE_TRANSCRIPTS === '1';

/**
 * The exact bytes the station sends for a full credential write (session set-up, identity,
 * uploads, verification, TLS configuration and read-back) must match the reviewed golden
 * transcript. Regenerate with KEYLINE_UPDATE_TRANSCRIPTS=1 (the review header is kept) and
 * review the diff against protocols.md before committing.
 */
describe(
  'golden transcripts of a credential write',
  { skip: realModem ? 'needs the simulator' : false },
  () => {
    for (const [model, file] of [
      ['EC25', 'ec25-credential-write.txt'],
      ['M66', 'm66-credential-write.txt'],
    ] as const) {
      it(`${model}: bytes sent match docs/transcripts/${file}`, async () => {
        const path = new URL(`../../docs/transcripts/${file}`, import.meta.url);
        const board = await startBoard({ model });
        let rendered: string;
        try {
          const modem = await openQuectelModem(board.transport, { slot: 1 });
          try {
            await modem.writeTlsCredentials(testCredentials());
          } finally {
            await modem.close();
          }
          rendered = renderTranscript(board.sim?.received() ?? new Uint8Array(0));
        } finally {
          await board.close();
        }
        const golden = existsSync(path)
          ? readFileSync(path, 'utf8')
          : `# ${model} credential write\n${marker}\n`;
        const at = golden.indexOf(`${marker}\n`);
        assert.ok(at >= 0, `${file} lacks the "${marker}" line`);
        const header = golden.slice(0, at + marker.length + 1);
        if (update) writeFileSync(path, header + rendered);
        assert.equal(rendered, golden.slice(header.length));
      });
    }
  },
);
