import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HOUR_MS,
  IssuanceBudget,
  checkIssuanceCap,
  countIssuances,
} from '../../main/pipeline/caps.ts';

const caps = { perBatch: 3, perHour: 5 };

test('allows below both caps and reports what remains after this issuance', () => {
  assert.deepEqual(checkIssuanceCap(caps, { inBatch: 0, inLastHour: 0 }), {
    allowed: true,
    remainingInBatch: 2,
    remainingThisHour: 4,
  });
  assert.deepEqual(checkIssuanceCap(caps, { inBatch: 2, inLastHour: 4 }), {
    allowed: true,
    remainingInBatch: 0,
    remainingThisHour: 0,
  });
});

test('refuses exactly at and above the batch cap', () => {
  for (const inBatch of [3, 4, 1000]) {
    const d = checkIssuanceCap(caps, { inBatch, inLastHour: 0 });
    assert.equal(d.allowed, false);
    if (!d.allowed) {
      assert.equal(d.cap, 'per-batch');
      assert.equal(d.limit, 3);
      assert.equal(d.count, inBatch);
      assert.match(d.message, /batch already issued/);
    }
  }
});

test('refuses at the hour cap and says when to retry', () => {
  const d = checkIssuanceCap(caps, { inBatch: 0, inLastHour: 5 }, 1000);
  assert.equal(d.allowed, false);
  if (!d.allowed) {
    assert.equal(d.cap, 'per-hour');
    assert.equal(d.retryAtMs, 1000 + HOUR_MS);
  }
});

test('the batch cap is reported first when both are reached', () => {
  const d = checkIssuanceCap(caps, { inBatch: 3, inLastHour: 5 });
  assert.equal(!d.allowed && d.cap, 'per-batch');
});

test('invalid caps refuse everything instead of meaning unlimited', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(
      checkIssuanceCap({ perBatch: bad, perHour: 5 }, { inBatch: 0, inLastHour: 0 }).allowed,
      false,
    );
    assert.equal(
      checkIssuanceCap({ perBatch: 5, perHour: bad }, { inBatch: 0, inLastHour: 0 }).allowed,
      false,
    );
  }
});

test('exhaustive over small counts: allowed iff both counts are below their caps', () => {
  for (let pb = 1; pb <= 4; pb++)
    for (let ph = 1; ph <= 4; ph++)
      for (let b = 0; b <= 5; b++)
        for (let h = 0; h <= 5; h++) {
          const d = checkIssuanceCap({ perBatch: pb, perHour: ph }, { inBatch: b, inLastHour: h });
          assert.equal(d.allowed, b < pb && h < ph, `caps ${pb}/${ph} counts ${b}/${h}`);
        }
});

test('countIssuances counts the batch and the rolling hour (boundary excluded)', () => {
  const now = 10 * HOUR_MS;
  const entries = [
    { batch: 'a', timeMs: now - HOUR_MS }, // exactly an hour ago: outside the window
    { batch: 'a', timeMs: now - HOUR_MS + 1 },
    { batch: 'b', timeMs: now - 5 },
    { batch: 'b', timeMs: now + 60_000 }, // clock skew: counts
    { batch: 'a', timeMs: 0 },
  ];
  assert.deepEqual(countIssuances(entries, 'a', now), { inBatch: 3, inLastHour: 3 });
  assert.deepEqual(countIssuances(entries, 'c', now), { inBatch: 0, inLastHour: 3 });
});

test('IssuanceBudget: a batch capped at N grants N reservations and refuses N+1', () => {
  let now = 5 * HOUR_MS;
  const budget = new IssuanceBudget({ perBatch: 4, perHour: 100 }, [], () => now);
  const granted = [1, 2, 3, 4, 5].map(() => budget.reserve('batch-1').allowed);
  assert.deepEqual(granted, [true, true, true, true, false]);
  assert.equal(budget.reserve('batch-2').allowed, true, 'another batch has its own cap');
  now += HOUR_MS;
  assert.equal(budget.reserve('batch-1').allowed, false, 'the batch cap does not expire');
});

test('IssuanceBudget: existing ledger entries count, and the hour window rolls', () => {
  let now = 2 * HOUR_MS;
  const existing = [
    { batch: 'old', timeMs: now - 10 },
    { batch: 'old', timeMs: now - 20 },
  ];
  const budget = new IssuanceBudget({ perBatch: 10, perHour: 3 }, existing, () => now);
  assert.equal(budget.reserve('new').allowed, true);
  const d = budget.reserve('new');
  assert.equal(d.allowed, false);
  if (!d.allowed) assert.equal(d.retryAtMs, now - 20 + HOUR_MS);
  now += HOUR_MS;
  assert.equal(budget.reserve('new').allowed, true);
});
