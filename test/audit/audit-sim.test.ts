import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuditAbortedError,
  auditModem,
  FINDING_IDS,
  isReadOnlyCommand,
  type AuditExpectation,
  type AuditReport,
  type FindingId,
} from '../../main/audit/index.ts';
import type { ModemWriteReport, QuectelModem } from '../../main/modem/index.ts';
import type { ModemModel, ModemPersonality } from '../../sim/modem/index.ts';
import {
  commandLines,
  openModem,
  startSimBoard,
  testCredentials,
  type SimBoard,
} from './helpers.ts';

const keyPem = testCredentials().clientKeyPem;
/** The first bytes of the key as the driver writes it (PEM, LF line ends). */
const keyPrefix = () =>
  Uint8Array.from(Buffer.from(keyPem.replace(/\r\n/g, '\n'), 'latin1').subarray(0, 16));

function expectationFrom(
  w: ModemWriteReport,
  extra: Partial<AuditExpectation> = {},
): AuditExpectation {
  const name = (role: string) => w.files.find((f) => f.role === role)!.name;
  return {
    family: w.family,
    keyFileName: name('clientkey'),
    keyPrefix: keyPrefix(),
    tlsContext: w.ctx,
    caFile: name('cacert'),
    certFile: name('clientcert'),
    keyFile: name('clientkey'),
    ...extra,
  };
}

interface Written {
  board: SimBoard;
  modem: QuectelModem;
  write: ModemWriteReport;
}

/** A simulated module with credentials really written to context 1 by the modem driver. */
async function withWrittenModule(
  o: { model?: ModemModel; personality: ModemPersonality; firmware?: string },
  fn: (w: Written) => Promise<void>,
): Promise<void> {
  const board = await startSimBoard(o);
  try {
    const modem = await openModem(board);
    try {
      const write = await modem.writeTlsCredentials(testCredentials(1));
      await fn({ board, modem, write });
    } finally {
      await modem.close();
    }
  } finally {
    await board.close();
  }
}

const ids = (r: AuditReport): FindingId[] => r.findings.map((f) => f.id);

describe('audit against the simulator after a real credential write', () => {
  for (const model of ['EC25', 'BG96', 'M66'] as const) {
    it(`a hardened ${model} audits clean, every probe clean, only read-only commands sent`, async () => {
      await withWrittenModule(
        { model, personality: 'hardened' },
        async ({ board, modem, write }) => {
          const before = board.sim.received().length;
          const r = await auditModem(modem.engine, expectationFrom(write), { slot: 1 });
          const sent = commandLines(board.sim.received().subarray(before));
          assert.deepEqual(r.findings, []);
          assert.deepEqual(
            r.probes.map((p) => [p.id, p.outcome]),
            FINDING_IDS.map((id) => [id, 'clean']),
          );
          assert.equal(r.module?.model, model);
          assert.deepEqual(
            sent,
            r.probes.flatMap((p) => p.commandsSent),
          );
          for (const line of sent) assert.ok(isReadOnlyCommand(line), line);
        },
      );
    });
  }

  it('an exposed EC25 yields backdoor-command, adb-unlock, adb-enabled and key-readable', async () => {
    await withWrittenModule({ personality: 'exposed' }, async ({ modem, write }) => {
      const r = await auditModem(modem.engine, expectationFrom(write));
      assert.deepEqual(ids(r), ['backdoor-command', 'adb-unlock', 'adb-enabled', 'key-readable']);
      const by = new Map(r.findings.map((f) => [f.id, f]));
      assert.equal(by.get('backdoor-command')?.severity, 'critical');
      assert.equal(by.get('adb-unlock')?.severity, 'high');
      assert.equal(by.get('adb-enabled')?.severity, 'medium');
      assert.equal(by.get('key-readable')?.severity, 'high');
      assert.match(by.get('key-readable')!.detail, /16 bytes; they match the key written/);
      assert.match(by.get('adb-enabled')!.detail, /0x2C7C:0x0125/);
      // The salt is half an unlock: it must not appear anywhere in the report.
      const salt = (await modem.engine.command('AT+QADBKEY?')).lines[0].replace(
        /^\+QADBKEY:\s*/,
        '',
      );
      assert.match(salt, /^\d{8}$/);
      assert.ok(!JSON.stringify(r).includes(salt));
      // Nor may the key bytes read back.
      assert.ok(!JSON.stringify(r).includes('BEGIN'));
      for (const p of r.probes.filter((p) => p.id !== 'firmware' && p.id !== 'tls-context'))
        assert.equal(p.outcome, 'finding', p.id);
    });
  });

  it('an exposed EC25 with a deny-listed firmware yields a high firmware finding', async () => {
    await withWrittenModule(
      { personality: 'exposed', firmware: 'EC25EFAR06A01M4G' },
      async ({ modem, write }) => {
        const r = await auditModem(
          modem.engine,
          expectationFrom(write, { firmwareDeny: ['BG96*', 'ec25efar06a01m4g*'] }),
        );
        const f = r.findings.find((x) => x.id === 'firmware');
        assert.equal(f?.severity, 'high');
        assert.match(
          f!.detail,
          /EC25EFAR06A01M4G_01\.001\.01\.001 is on the deny-list \(ec25efar06a01m4g\*\)/,
        );
        assert.equal(r.module?.firmware, 'EC25EFAR06A01M4G_01.001.01.001');
      },
    );
  });

  it('firmware missing from a non-empty allow-list is a medium finding; a listed one is clean', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ modem, write }) => {
      const unknown = await auditModem(
        modem.engine,
        expectationFrom(write, { firmwareAllow: ['EC25EFAR06A07M4G*', 'BG96*'] }),
      );
      assert.deepEqual(unknown.findings, [
        {
          id: 'firmware',
          severity: 'medium',
          detail: 'EC25: firmware EC25EFAR06A06M4G_01.001.01.001 is not on the allow-list',
        },
      ]);
      const listed = await auditModem(
        modem.engine,
        expectationFrom(write, { firmwareAllow: ['BG96*', 'EC25EFAR06A0?M4G'] }),
      );
      assert.deepEqual(listed.findings, []);
    });
  });

  it('a module of another family than expected is a high firmware finding', async () => {
    await withWrittenModule(
      { model: 'BG96', personality: 'hardened' },
      async ({ modem, write }) => {
        const r = await auditModem(modem.engine, expectationFrom(write, { family: 'lte' }));
        assert.deepEqual(ids(r), ['firmware']);
        assert.equal(r.findings[0].severity, 'high');
        assert.match(r.findings[0].detail, /BG96 \(lpwa\), expected a lte module/);
      },
    );
  });

  it('tls-context: seclevel 1 and TLS "all" set by someone else are one high finding', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ modem, write }) => {
      // The test (not the audit) weakens the context the driver configured.
      await modem.engine.command('AT+QSSLCFG="seclevel",1,1');
      await modem.engine.command('AT+QSSLCFG="sslversion",1,4');
      const r = await auditModem(modem.engine, expectationFrom(write));
      assert.deepEqual(r.findings, [
        {
          id: 'tls-context',
          severity: 'high',
          detail: 'TLS context 1: seclevel is 1, expected 2; sslversion is 4, expected 3',
        },
      ]);
    });
  });

  it('tls-context: a context pointing at other files, or the wrong context, is a finding', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ modem, write }) => {
      await modem.engine.command('AT+QSSLCFG="clientkey",1,"UFS:other.pem"');
      const r = await auditModem(modem.engine, expectationFrom(write));
      assert.deepEqual(ids(r), ['tls-context']);
      assert.match(
        r.findings[0].detail,
        /^TLS context 1: clientkey is "UFS:other\.pem", expected UFS:klck1\.pem$/,
      );
      // Context 2 was never configured: defaults (seclevel 0, no files).
      const other = await auditModem(
        modem.engine,
        expectationFrom(write, { tlsContext: 2, keyFile: 'UFS:klck1.pem' }),
      );
      assert.deepEqual(ids(other), ['tls-context']);
      assert.match(
        other.findings[0].detail,
        /^TLS context 2: seclevel is 0, expected 2; sslversion is 4/,
      );
    });
  });

  it('key-readable: bytes that are not the key written are still a finding, and say so', async () => {
    await withWrittenModule({ personality: 'exposed' }, async ({ modem, write }) => {
      const wrongPrefix = new Uint8Array(16).fill(0x41);
      const r = await auditModem(modem.engine, expectationFrom(write, { keyPrefix: wrongPrefix }));
      const f = r.findings.find((x) => x.id === 'key-readable');
      assert.match(f!.detail, /16 bytes; they differ from the key written/);
      assert.deepEqual(
        [...wrongPrefix],
        new Array(16).fill(0x41),
        "the caller's buffer is left alone",
      );
      const noPrefix = await auditModem(
        modem.engine,
        expectationFrom(write, { keyPrefix: undefined }),
      );
      assert.match(
        noPrefix.findings.find((x) => x.id === 'key-readable')!.detail,
        /no key was given/,
      );
    });
  });

  it('key-readable: a key file that is not on the module is inconclusive, not clean', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ modem, write }) => {
      const r = await auditModem(
        modem.engine,
        expectationFrom(write, { keyFileName: 'UFS:missing.pem' }),
      );
      assert.deepEqual(ids(r), ['key-readable']);
      assert.equal(r.probes.find((p) => p.id === 'key-readable')?.outcome, 'inconclusive');
      assert.match(
        r.findings[0].detail,
        /^inconclusive: key file UFS:missing\.pem is not on the module/,
      );
      // QFOPEN failed, so there was no handle to read or close.
      assert.deepEqual(r.probes.find((p) => p.id === 'key-readable')?.commandsSent, [
        'AT+QFOPEN="UFS:missing.pem",2',
      ]);
    });
  });

  it('key-readable: under CMEE=0 a bare ERROR to QFOPEN is inconclusive, not a clean refusal', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ modem, write }) => {
      await modem.engine.command('AT+CMEE=0'); // the test, not the audit, changes the session
      const r = await auditModem(
        modem.engine,
        expectationFrom(write, { keyFileName: 'UFS:gone.pem' }),
      );
      assert.deepEqual(ids(r), ['key-readable']);
      assert.match(r.findings[0].detail, /^inconclusive: AT\+QFOPEN answered ERROR/);
    });
  });

  it('an exposed M66 (2G) keeps its key in NVRAM: QSECREAD shows only a checksum, clean', async () => {
    await withWrittenModule({ model: 'M66', personality: 'exposed' }, async ({ modem, write }) => {
      const r = await auditModem(modem.engine, expectationFrom(write));
      assert.deepEqual(r.findings, []);
      assert.deepEqual(r.probes.find((p) => p.id === 'key-readable')?.commandsSent, [
        'AT+QSECREAD="NVRAM:CK0"',
      ]);
    });
  });
});

describe('audit failure paths', () => {
  it('a probe whose command gets no answer is inconclusive; the audit goes on', async () => {
    const board = await startSimBoard({
      personality: 'hardened',
      faults: [{ kind: 'stall', command: 'AT+QADBKEY' }],
    });
    try {
      const modem = await openModem(board);
      try {
        const write = await modem.writeTlsCredentials(testCredentials(1));
        const r = await auditModem(modem.engine, expectationFrom(write), { timeoutMs: 1500 });
        assert.deepEqual(ids(r), ['adb-unlock']);
        assert.match(
          r.findings[0].detail,
          /^inconclusive: AT\+QADBKEY\?: no answer within 1500 ms/,
        );
        assert.deepEqual(
          r.probes.map((p) => p.outcome),
          ['clean', 'clean', 'inconclusive', 'clean', 'clean', 'clean'],
        );
      } finally {
        await modem.close();
      }
    } finally {
      await board.close();
    }
  });

  it('backdoor-command: a +CME ERROR (not a plain ERROR) to the test form is a critical finding', async () => {
    const board = await startSimBoard({
      personality: 'hardened',
      faults: [{ kind: 'error', command: 'AT+QLINUXCMD', cme: 3 }],
    });
    try {
      const modem = await openModem(board);
      try {
        const write = await modem.writeTlsCredentials(testCredentials(1));
        const r = await auditModem(modem.engine, expectationFrom(write));
        assert.deepEqual(r.findings, [
          {
            id: 'backdoor-command',
            severity: 'critical',
            detail: 'AT+QLINUXCMD=? answers +CME ERROR: 3 instead of ERROR: the command exists',
          },
        ]);
      } finally {
        await modem.close();
      }
    } finally {
      await board.close();
    }
  });

  it('an unplug mid-audit throws AuditAbortedError naming the probe', async () => {
    const board = await startSimBoard({
      personality: 'exposed',
      faults: [{ kind: 'unplug', command: 'AT+QFREAD' }],
    });
    try {
      const modem = await openModem(board);
      try {
        const write = await modem.writeTlsCredentials(testCredentials(1));
        await assert.rejects(auditModem(modem.engine, expectationFrom(write), { slot: 4 }), (e) => {
          assert.ok(e instanceof AuditAbortedError);
          assert.equal(e.probe, 'key-readable');
          assert.equal(e.slot, 4);
          assert.match(e.message, /^slot 4 \(.+\) audit probe key-readable: AT\+QFREAD/);
          return true;
        });
      } finally {
        await modem.close();
      }
    } finally {
      await board.close();
    }
  });

  it('a cancelled audit sends nothing more and throws AuditAbortedError', async () => {
    await withWrittenModule({ personality: 'hardened' }, async ({ board, modem, write }) => {
      const ac = new AbortController();
      ac.abort(new Error('operator stop'));
      const before = board.sim.received().length;
      await assert.rejects(
        auditModem(modem.engine, expectationFrom(write), { signal: ac.signal }),
        AuditAbortedError,
      );
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(board.sim.received().length, before);
    });
  });
});
