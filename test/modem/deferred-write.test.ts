import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openQuectelModem, type ClientCredentials } from '../../main/modem/index.ts';
import type { ModemModel } from '../../sim/modem/index.ts';
import { realModem, renderTranscript, startBoard, testCredentials } from './helpers/sim-modem.ts';

const marker = '--- bytes sent by the station ---\n';
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/**
 * A write started before the client certificate and key exist (the pipeline overlaps the
 * module's preparation with issuance) must send exactly the bytes of a plain write, and
 * must upload nothing until the credentials come.
 */
describe(
  'credential write with deferred client credentials',
  { skip: realModem ? 'needs the simulator' : false },
  () => {
    for (const [model, file, prepareCmd, uploadCmd, storage] of [
      ['EC25', 'ec25-credential-write.txt', 'AT+QFLDS', 'AT+QFUPL', 'UFS'],
      ['M66', 'm66-credential-write.txt', undefined, 'AT+QSECWRITE', 'NVRAM'],
    ] as const) {
      it(`${model}: prepares first, uploads after the credentials come, bytes match docs/transcripts/${file}`, async () => {
        const board = await startBoard({ model: model as ModemModel });
        const { caCertPem, clientCertPem, clientKeyPem } = testCredentials();
        try {
          const sim = board.sim!;
          const modem = await openQuectelModem(board.transport, { slot: 1 });
          try {
            let release: (c: ClientCredentials) => void = () => {};
            const client = new Promise<ClientCredentials>((r) => (release = r));
            const writing = modem.writeTlsCredentials({ caCertPem, client });
            if (prepareCmd) {
              // The free-space query is the last preparation command: wait until it went out.
              for (let i = 0; i < 200 && !latin1(sim.received()).includes(prepareCmd); i++)
                await sleep(10);
              assert.ok(latin1(sim.received()).includes(prepareCmd), 'prepared before issuance');
            }
            await sleep(150);
            assert.ok(!latin1(sim.received()).includes(uploadCmd), 'nothing uploaded yet');
            release({ clientCertPem, clientKeyPem });
            const report = await writing;
            assert.equal(report.files.length, 3);
            assert.equal(sim.files(storage).size, 3);
          } finally {
            await modem.close();
          }
          const golden = readFileSync(
            new URL(`../../docs/transcripts/${file}`, import.meta.url),
            'utf8',
          );
          const expected = golden.slice(golden.indexOf(marker) + marker.length);
          assert.equal(renderTranscript(sim.received()), expected);
        } finally {
          await board.close();
        }
      });
    }

    it('EC25: credentials that never come fail the write with their reason; nothing is uploaded', async () => {
      const board = await startBoard({ model: 'EC25' });
      try {
        const sim = board.sim!;
        const modem = await openQuectelModem(board.transport, { slot: 1 });
        try {
          const reason = new Error('issuance failed');
          let refuse: (e: Error) => void = () => {};
          const client = new Promise<ClientCredentials>((_, reject) => (refuse = reject));
          const writing = modem.writeTlsCredentials({
            caCertPem: testCredentials().caCertPem,
            client,
          });
          await sleep(100);
          refuse(reason);
          await assert.rejects(writing, (e) => e === reason);
          assert.ok(!latin1(sim.received()).includes('AT+QFUPL'));
          assert.equal(sim.files('UFS').size, 0);
          // The session is still usable afterwards.
          assert.equal((await modem.engine.command('AT')).final, 'OK');
        } finally {
          await modem.close();
        }
      } finally {
        await board.close();
      }
    });

    it('EC25: an aborted write stops waiting for the credentials', async () => {
      const board = await startBoard({ model: 'EC25' });
      try {
        const modem = await openQuectelModem(board.transport, { slot: 1 });
        try {
          const ac = new AbortController();
          const client = new Promise<ClientCredentials>(() => {});
          const writing = modem.writeTlsCredentials(
            { caCertPem: testCredentials().caCertPem, client },
            { signal: ac.signal },
          );
          await sleep(300);
          const why = new Error('operator cancelled');
          ac.abort(why);
          await assert.rejects(writing, (e) => e === why);
          assert.equal(board.sim!.files('UFS').size, 0);
        } finally {
          await modem.close();
        }
      } finally {
        await board.close();
      }
    });
  },
);
