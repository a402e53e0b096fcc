import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  openQuectelModem,
  quectelChecksum,
  type ModemWriteStep,
  type QuectelModem,
} from '../../main/modem/index.ts';
import type { ModemModel } from '../../sim/modem/index.ts';
import {
  realModem,
  startBoard,
  testCredentials,
  testIccid,
  testImei,
  type TestBoard,
} from './helpers/sim-modem.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const lf = (s: string) => s.replace(/\r\n?/g, '\n');
const storageOf = (m: ModemModel) => (m === 'M66' ? 'NVRAM' : 'UFS');
const simOnly = realModem ? 'sim-only (KEYLINE_TEST_MODEM is set)' : false;
/** On a real board the suite writes to TLS context 5 so it leaves context 0 alone. */
const ctx = realModem ? 5 : 0;

const expected: Record<
  ModemModel,
  { family: string; manufacturer: string; revision: string; firmware: string }
> = {
  EC25: {
    family: 'lte',
    manufacturer: 'Quectel',
    revision: 'EC25EFAR06A06M4G',
    firmware: 'EC25EFAR06A06M4G_01.001.01.001',
  },
  BG96: {
    family: 'lpwa',
    manufacturer: 'Quectel',
    revision: 'BG96MAR02A07M1G',
    firmware: 'BG96MAR02A07M1G_01.001.01.001',
  },
  M66: {
    family: '2g',
    manufacturer: 'Quectel_Ltd',
    revision: 'M66FAR02A03',
    firmware: 'M66FAR02A03',
  },
};

async function withModem(
  model: ModemModel,
  fn: (m: QuectelModem, b: TestBoard) => Promise<void>,
): Promise<void> {
  const board = await startBoard({ model });
  let modem: QuectelModem | undefined;
  try {
    modem = await openQuectelModem(board.transport, {
      slot: 1,
      log: process.env.KL_DEBUG
        ? (e) => console.log(Date.now() % 100000, e.dir, JSON.stringify(e.text))
        : undefined,
    });
    await fn(modem, board);
  } finally {
    await modem?.close();
    await board.close();
  }
}

for (const model of realModem ? (['EC25'] as const) : (['EC25', 'BG96', 'M66'] as const)) {
  describe(`Quectel driver against ${realModem ? `the module on ${realModem}` : `the ${model} simulator`}`, () => {
    it('reads identity: model, family, firmware, Luhn-checked IMEI, ICCID in the family form', async () => {
      await withModem(model, async (m) => {
        if (realModem) {
          assert.match(m.identity.imei, /^\d{15}$/);
          assert.match(m.identity.iccid, /^[0-9A-F]{19,20}$/);
          return;
        }
        const e = expected[model];
        assert.deepEqual(m.identity, {
          manufacturer: e.manufacturer,
          model,
          family: e.family,
          revision: e.revision,
          firmware: e.firmware,
          imei: testImei,
          iccid: testIccid,
        });
        assert.equal(m.family, e.family);
      });
    });

    it('writes the credentials with verified checksums, then configures and reads back the TLS context', async () => {
      await withModem(model, async (m, board) => {
        const creds = testCredentials({ ctx });
        // The station may hand over CRLF PEM; the module must get LF (design.md).
        creds.clientCertPem = lf(creds.clientCertPem).replace(/\n/g, '\r\n');
        const progress: Array<[ModemWriteStep, number, number]> = [];
        const report = await m.writeTlsCredentials(creds, {
          onProgress: (s, a, t) => progress.push([s, a, t]),
        });

        const want = [creds.caCertPem, creds.clientCertPem, creds.clientKeyPem].map((p) =>
          enc(lf(p)),
        );
        const total = want.reduce((n, b) => n + b.length, 0);
        assert.deepEqual(
          report.files.map((f) => [f.role, f.size, f.checksum, f.attempts]),
          ['cacert', 'clientcert', 'clientkey'].map((r, i) => [
            r,
            want[i].length,
            quectelChecksum(want[i]).toString(16),
            1,
          ]),
        );
        // Progress: ordered steps, bytes never go backwards, all bytes accounted for.
        const steps = [...new Set(progress.map((p) => p[0]))];
        assert.deepEqual(steps, [
          'prepare',
          'upload:cacert',
          'upload:clientcert',
          'upload:clientkey',
          'verify',
          'configure',
          'readback',
        ]);
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i][1] >= progress[i - 1][1]);
        assert.ok(progress.some(([s, a]) => s === 'upload:clientkey' && a === total));
        assert.ok(progress.every(([, , t]) => t === total));

        assert.equal(report.tlsConfig.seclevel, '2');
        assert.equal(report.tlsConfig.sslversion, '3');
        assert.equal(report.tlsConfig.clientkey, report.files[2].name);
        if (!board.sim) return;
        const stored = board.sim.files(storageOf(model));
        const names = report.files.map((f) => f.name.replace(/^(UFS|NVRAM):/, ''));
        assert.deepEqual([...stored.keys()].sort(), [...names].sort());
        names.forEach((n, i) =>
          assert.deepEqual(stored.get(n), want[i], `${n} holds exactly the LF-normalised bytes`),
        );
        const ssl = board.sim.sslConfig(0);
        assert.equal(ssl.cacert, report.files[0].name);
        assert.equal(ssl.clientcert, report.files[1].name);
        assert.equal(ssl.clientkey, report.files[2].name);
        assert.equal(ssl.seclevel, '2');
        assert.equal(ssl.sslversion, '3');
        assert.equal(ssl.ciphersuite.toUpperCase(), '0XFFFF');
        assert.equal(model === 'M66' ? ssl.ignorertctime : ssl.ignorelocaltime, '1');
      });
    });

    it('replaces existing files and verifies what the module holds', async () => {
      await withModem(model, async (m, board) => {
        const first = await m.writeTlsCredentials(testCredentials({ ctx }));
        const other = testCredentials({ ctx });
        other.caCertPem = lf(other.caCertPem).split(/(?<=-----END CERTIFICATE-----\n)/)[0];
        const second = await m.writeTlsCredentials(other);
        assert.notEqual(second.files[0].size, first.files[0].size);
        assert.equal((await m.verifyTlsCredentials(second)).ok, true);
        const stale = await m.verifyTlsCredentials(first);
        assert.equal(stale.ok, false);
        assert.equal(stale.problems.length, 1, stale.problems.join('; '));
        assert.match(stale.problems[0], model === 'M66' ? /CA0: checksum/ : /klca\d\.pem: size/);
        if (board.sim) {
          const stored = board.sim.files(storageOf(model));
          assert.deepEqual(
            stored.get(second.files[0].name.replace(/^(UFS|NVRAM):/, '')),
            enc(other.caCertPem),
          );
          if (model !== 'M66') assert.match(renderSent(board), /AT\+QFDEL="UFS:klca0\.pem"/);
        }
        // A missing file is reported, not thrown.
        await m.engine.command(
          model === 'M66' ? 'AT+QSECDEL="NVRAM:CK0"' : `AT+QFDEL="UFS:klck${ctx}.pem"`,
        );
        const gone = await m.verifyTlsCredentials(second);
        assert.equal(gone.ok, false);
        assert.match(gone.problems.join(';'), /not on the module/);
      });
    });

    it('refuses non-PEM input before touching the module', { skip: simOnly }, async () => {
      await withModem(model, async (m, board) => {
        const creds = testCredentials({ clientKeyPem: 'not a key' });
        await assert.rejects(m.writeTlsCredentials(creds), {
          name: 'ModemInputError',
          message: /clientkey is not a PEM block/,
        });
        await assert.rejects(
          m.writeTlsCredentials(testCredentials({ names: { cacert: 'a",1,"b' }, ctx: 1 })),
          { name: 'ModemInputError', message: /cacert file name/ },
        );
        await assert.rejects(
          m.writeTlsCredentials(
            testCredentials({ names: { clientcert: 'same.pem', clientkey: 'SAME.pem' } }),
          ),
          { name: 'ModemInputError', message: /three different names/ },
        );
        await assert.rejects(m.writeTlsCredentials(testCredentials({ ctx: 6 })), {
          name: 'ModemInputError',
          message: /TLS context must be 0–5, got 6/,
        });
        assert.equal(board.sim?.files(storageOf(model)).size, 0);
        assert.doesNotMatch(renderSent(board), /QFUPL|QSECWRITE|QFDEL/);
      });
    });
  });
}

function renderSent(board: TestBoard): string {
  return Buffer.from(board.sim?.received() ?? new Uint8Array(0)).toString('latin1');
}
