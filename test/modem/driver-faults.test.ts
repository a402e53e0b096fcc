import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ModemClosedError,
  ModemCommandError,
  ModemIdentityError,
  ModemStorageError,
  ModemTimeoutError,
  ModemVerifyError,
  openQuectelModem,
  type OpenModemOptions,
  type QuectelModem,
} from '../../main/modem/index.ts';
import type { ModemFault, ModemModel } from '../../sim/modem/index.ts';
import {
  realModem,
  startBoard,
  testCredentials,
  type BoardOptions,
  type TestBoard,
} from './helpers/sim-modem.ts';

const skip = realModem ? 'fault injection needs the simulator' : false;
const sent = (b: TestBoard) =>
  Buffer.from(b.sim?.received() ?? new Uint8Array(0)).toString('latin1');
const storageOf = (m: ModemModel) => (m === 'M66' ? 'NVRAM' : 'UFS');
/** Short module data timeout so a dropped byte costs a second, not five. */
const timeouts: OpenModemOptions['timeouts'] = { uploadIdleS: 1, commandMs: 5000 };

async function withFaults(
  o: BoardOptions,
  fn: (m: QuectelModem, b: TestBoard) => Promise<void>,
  open: OpenModemOptions = {},
): Promise<void> {
  const board = await startBoard(o);
  let modem: QuectelModem | undefined;
  try {
    modem = await openQuectelModem(board.transport, { slot: 'A', timeouts, ...open });
    await fn(modem, board);
  } finally {
    await modem?.close();
    await board.close();
  }
}

describe('Quectel driver under injected faults', { skip }, () => {
  it('full storage: refuses before uploading anything, with needed and free bytes', async () => {
    await withFaults({ model: 'EC25', ufsCapacityBytes: 1500 }, async (m, b) => {
      const err = await m.writeTlsCredentials(testCredentials()).catch((e: unknown) => e);
      assert.ok(err instanceof ModemStorageError, String(err));
      assert.equal(err.freeBytes, 1500);
      assert.equal(err.neededBytes, 1348 + 688 + 241);
      assert.equal(err.slot, 'A');
      assert.equal(b.sim?.files('UFS').size, 0);
      assert.doesNotMatch(sent(b), /QFUPL/);
    });
  });

  it('+CME ERROR from an upload becomes a readable error; files already written are deleted', async () => {
    const faults: ModemFault[] = [{ kind: 'error', command: 'AT+QFUPL', cme: 409, occurrence: 2 }];
    await withFaults({ model: 'EC25', faults }, async (m, b) => {
      const err = await m.writeTlsCredentials(testCredentials()).catch((e: unknown) => e);
      assert.ok(err instanceof ModemCommandError, String(err));
      assert.equal(err.code, 409);
      assert.equal(err.text, 'failed to write the file');
      assert.equal(err.step, 'upload:clientcert');
      assert.match(
        err.message,
        /slot A .*upload:clientcert: AT\+QFUPL="UFS:klcc0\.pem",688,1,1 → \+CME ERROR: 409 \(failed to write the file\)/,
      );
      assert.equal(b.sim?.files('UFS').size, 0, 'the CA file written first was deleted');
      assert.equal(
        b.sim?.sslConfig(0).clientkey,
        '',
        'the TLS context was never pointed at anything',
      );
    });
  });

  it('URCs arriving before answers go to listeners and do not disturb the write', async () => {
    await withFaults({ model: 'EC25' }, async (m, b) => {
      const urcs: string[] = [];
      m.engine.onUrc((l) => urcs.push(l));
      b.sim?.injectUrc('+QIURC: "pdpdeact",1', { beforeAnswerTo: 'AT+QFLST' });
      b.sim?.injectUrc('+CPIN: READY', { beforeAnswerTo: 'AT+QSSLCFG="clientkey",0' });
      b.sim?.injectUrc('+QFLST: "ghost.pem",1', { beforeAnswerTo: 'AT+QFUPL' });
      const report = await m.writeTlsCredentials(testCredentials());
      assert.equal(report.files.length, 3);
      // +QFLST: is no URC: during QFUPL it is an unexpected information line, which the
      // driver ignores because it reads only the +QFUPL: result.
      assert.deepEqual(urcs, ['+QIURC: "pdpdeact",1', '+CPIN: READY']);
      assert.equal(report.tlsConfig.clientkey, 'UFS:klck0.pem');
    });
  });

  it('a stalled command times out, the engine resyncs, cleans up, and the next write works', async () => {
    const faults: ModemFault[] = [{ kind: 'stall', command: 'AT+QFLST', occurrence: 1 }];
    await withFaults(
      { model: 'EC25', faults },
      async (m, b) => {
        const err = await m.writeTlsCredentials(testCredentials()).catch((e: unknown) => e);
        assert.ok(err instanceof ModemTimeoutError, String(err));
        assert.equal(err.step, 'list');
        assert.match(sent(b), /AT\+QFLST="\*"\r\rAT\r/, 'resync: CR, then AT');
        assert.equal(b.sim?.files('UFS').size, 0, 'cleanup after the resync deleted the uploads');
        assert.equal((await m.engine.command('AT')).final, 'OK');
        const report = await m.writeTlsCredentials(testCredentials());
        assert.equal(report.files.length, 3);
      },
      { timeouts: { ...timeouts, commandMs: 2500 } },
    );
  });

  for (const model of ['EC25', 'M66'] as const) {
    it(`${model}: a corrupted byte in an upload is caught by checksum, deleted and re-sent`, async () => {
      const faults: ModemFault[] = [{ kind: 'corrupt-upload', offset: 700, occurrence: 1 }];
      const log: string[] = [];
      await withFaults({ model, faults }, async (m, b) => {
        const report = await m.writeTlsCredentials(testCredentials(), { log: (l) => log.push(l) });
        assert.deepEqual(
          report.files.map((f) => f.attempts),
          [2, 1, 1],
        );
        const ca = testCredentials().caCertPem;
        assert.deepEqual(
          b.sim?.files(storageOf(model)).get(model === 'M66' ? 'CA0' : 'klca0.pem'),
          Uint8Array.from(Buffer.from(ca, 'latin1')),
        );
        assert.match(
          log[0],
          /attempt 1 reported size 1348 checksum [0-9a-f]+, expected 1348 [0-9a-f]+; deleting/,
        );
      });
    });
  }

  it('a byte lost in an upload shows as a short size, and the retry succeeds', async () => {
    const faults: ModemFault[] = [{ kind: 'drop-upload', offset: 10, occurrence: 2 }];
    await withFaults({ model: 'EC25', faults }, async (m, b) => {
      const report = await m.writeTlsCredentials(testCredentials());
      assert.deepEqual(
        report.files.map((f) => f.attempts),
        [1, 2, 1],
      );
      assert.equal(b.sim?.files('UFS').get('klcc0.pem')?.length, 688);
    });
  });

  it('persistent corruption fails after the bounded retries naming file, expected and reported', async () => {
    const faults: ModemFault[] = [{ kind: 'corrupt-upload', offset: 5 }];
    await withFaults({ model: 'EC25', faults }, async (m, b) => {
      const err = await m
        .writeTlsCredentials(testCredentials(), { maxAttempts: 2 })
        .catch((e: unknown) => e);
      assert.ok(err instanceof ModemVerifyError, String(err));
      assert.equal(err.file, 'UFS:klca0.pem');
      assert.equal(err.attempts, 2);
      assert.equal(err.expected.size, 1348);
      assert.equal(err.reported.size, 1348);
      assert.notEqual(err.reported.checksum, err.expected.checksum);
      assert.equal(err.slot, 'A');
      assert.equal(b.sim?.files('UFS').size, 0);
    });
  });

  for (const model of ['EC25', 'M66'] as const) {
    it(`${model}: an unplug mid-upload is a clear closed-port error, promptly, with the port closed`, async () => {
      const command = model === 'M66' ? 'AT+QSECWRITE' : 'AT+QFUPL';
      const faults: ModemFault[] = [{ kind: 'unplug', command, afterBytes: 300, occurrence: 2 }];
      await withFaults({ model, faults }, async (m) => {
        const t0 = Date.now();
        const err = await m.writeTlsCredentials(testCredentials()).catch((e: unknown) => e);
        assert.ok(err instanceof ModemClosedError, String(err));
        assert.equal(err.step, 'upload:clientcert');
        assert.ok(Date.now() - t0 < 15_000, 'no hang');
        assert.equal(m.engine.isOpen, false);
        await assert.rejects(m.engine.command('AT'), ModemClosedError);
      });
    });
  }

  it('a cancel mid-upload stops the write and leaves no file behind', async () => {
    await withFaults({ model: 'EC25' }, async (m, b) => {
      const ac = new AbortController();
      const err = await m
        .writeTlsCredentials(testCredentials(), {
          signal: ac.signal,
          onProgress: (step, sent) => {
            if (step === 'upload:cacert' && sent >= 1024) ac.abort(new Error('operator cancelled'));
          },
        })
        .catch((e: unknown) => e);
      assert.match(String(err), /operator cancelled/);
      assert.equal(b.sim?.files('UFS').size, 0, 'the partial upload was deleted');
      assert.equal((await m.engine.command('AT')).final, 'OK');
    });
  });

  it('a module that reset since the session began gets ATE0 again before any upload', async () => {
    await withFaults({ model: 'EC25' }, async (m, b) => {
      const urcs: string[] = [];
      m.engine.onUrc((l) => urcs.push(l));
      await b.sim?.powerCycle();
      const log: string[] = [];
      const report = await m.writeTlsCredentials(testCredentials(), { log: (l) => log.push(l) });
      assert.equal(report.files.length, 3);
      assert.ok(urcs.includes('RDY'), 'the boot URC reached the listener');
      assert.match(log.join('\n'), /module echoes commands again/);
      const after = sent(b).split('AT+QFLDS="UFS"\r').at(-1) ?? '';
      assert.match(
        after,
        /^ATE0\rAT\+CMEE=1\rAT\+QFUPL=/,
        'echo off again before the first upload',
      );
    });
  });

  it('an IMEI failing the Luhn check is refused with what the module said', async () => {
    const board = await startBoard({ model: 'EC25', imei: '490154203237519' });
    try {
      await assert.rejects(openQuectelModem(board.transport), (e: unknown) => {
        assert.ok(e instanceof ModemIdentityError);
        assert.equal(e.field, 'imei');
        assert.match(e.message, /Luhn.*490154203237519/);
        return true;
      });
      assert.equal(board.transport.isOpen, false, 'a failed open closes the port');
    } finally {
      await board.close();
    }
  });
});
