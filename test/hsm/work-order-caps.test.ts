import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LedgerConsistencyError } from '../../ledger/state.ts';
import { LedgerWriter } from '../../main/ledger/index.ts';
import { ledgerPort } from '../../main/pipeline/adapters/ledger.ts';
import { HOUR_MS, IssuanceBudget } from '../../main/pipeline/caps.ts';
import { intentFor, tempDir, testEd25519Signer } from '../ledger/helpers.ts';

describe('work-order and hourly caps counted from the ledger across batches', () => {
  let dir: { path: string; remove: () => void };
  let writer: LedgerWriter;
  before(async () => {
    dir = tempDir('hsm-wo-caps');
    writer = await LedgerWriter.open(dir.path, {
      signer: testEd25519Signer(),
      stationId: 'st-00000000000000aa',
    });
  });
  after(async () => {
    await writer?.close();
    dir.remove();
  });

  it('a work order capped at 3 spans its batches; a later batch can neither lift it nor the hourly cap', async () => {
    const port = ledgerPort(writer);
    const a = await port.startBatch({
      batch: 'A',
      workOrder: 'WO-7',
      profile: 'p',
      operator: 'op',
      requested: { perBatch: 10, perHour: 50, perWorkOrder: 3 },
    });
    assert.deepEqual(a, { caps: { perBatch: 10, perHour: 50, perWorkOrder: 3 }, started: true });
    await writer.append(intentFor(1, 'A'));
    await writer.append(intentFor(2, 'A'));

    const b = await port.startBatch({
      batch: 'B',
      workOrder: 'WO-7',
      profile: 'p',
      operator: 'op',
      requested: { perBatch: 10, perHour: 500, perWorkOrder: 300 },
    });
    assert.deepEqual(b.caps, { perBatch: 10, perHour: 50, perWorkOrder: 3 });
    const entries = await port.issuanceEntries('B', Date.now() - HOUR_MS, 'WO-7');
    assert.equal(entries.filter((e) => e.workOrder === 'WO-7').length, 2);
    const refusals: string[] = [];
    const budget = new IssuanceBudget(b.caps, entries, Date.now, {
      workOrder: 'WO-7',
      onRefused: (_batch, d) => refusals.push(d.cap),
    });
    assert.equal(budget.reserve('B').allowed, true);
    const d = budget.reserve('B');
    assert.equal(d.allowed, false);
    if (!d.allowed) assert.match(d.message, /work order already issued 3 of 3/);
    assert.deepEqual(refusals, ['per-work-order']);

    // Starting B again returns what was recorded, whatever is asked.
    const again = await port.startBatch({
      batch: 'B',
      profile: 'p',
      operator: 'op',
      requested: { perBatch: 1, perHour: 1 },
    });
    assert.equal(again.started, false);
    assert.deepEqual(again.caps, b.caps);
  });

  it('a cap raise must name a started batch; the ledger refuses one that does not', async () => {
    await assert.rejects(
      writer.append({
        type: 'cap',
        action: 'raise',
        scope: 'batch',
        target: 'never-started',
        limit: 5,
        operator: 'op',
        reason: 'x',
      }),
      LedgerConsistencyError,
    );
    await writer.append({
      type: 'cap',
      action: 'raise',
      scope: 'work-order',
      target: 'WO-7',
      limit: 4,
      previousLimit: 3,
      operator: 'op',
      reason: 'amended',
    });
    assert.equal(writer.caps.batch('B')?.perWorkOrder, 4);
    assert.equal(writer.caps.batch('A')?.perWorkOrder, 4);
  });
});
