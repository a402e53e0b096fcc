import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HardwareClaims, checkDuplicate, matchingIds } from '../../main/pipeline/duplicates.ts';
import type { CommittedDevice } from '../../main/pipeline/ports.ts';

const board = {
  imei: '356938035643809',
  iccid: '8944500102198304826',
  mcuUid: '0123456789abcdef01234567',
};
const other = {
  imei: '490154203237518',
  iccid: '8944500102198304834',
  mcuUid: 'aaaaaaaaaaaaaaaaaaaaaaaa',
};
const committed = (ids: typeof board, n = 10): CommittedDevice => ({
  commitIndex: n,
  deviceId: `kl1-${n}`,
  hardwareIds: ids,
  serialsHex: [`0${n}`, `1${n}`],
});

test('a board the ledger does not hold proceeds', () => {
  assert.deepEqual(checkDuplicate(board, [], [], false), { action: 'proceed' });
  assert.deepEqual(checkDuplicate(board, [committed(other)], [], false), { action: 'proceed' });
});

test('each hardware ID alone is enough to refuse, and the message names it', () => {
  for (const field of ['imei', 'iccid', 'mcuUid'] as const) {
    const held = { ...other, [field]: board[field] };
    const d = checkDuplicate(board, [committed(held)], [], false);
    assert.equal(d.action, 'refuse', field);
    if (d.action === 'refuse') {
      assert.equal(d.code, 'duplicate');
      assert.deepEqual(d.matches, [`${field} ${board[field]}`]);
      assert.match(d.message, /already provisioned as kl1-10/);
      assert.match(d.message, /re-provision explicitly/);
    }
  }
});

test('re-provision turns a refusal into revoke-then-proceed listing every old commit', () => {
  const a = committed({ ...other, imei: board.imei }, 10);
  const b = committed({ ...other, mcuUid: board.mcuUid }, 20);
  const d = checkDuplicate(board, [a, b], [], true);
  assert.deepEqual(d, { action: 'revoke-then-proceed', revoke: [a, b] });
});

test('a board another slot is working on is refused even when re-provisioning', () => {
  for (const reprovision of [false, true]) {
    const d = checkDuplicate(board, [], [{ ...other, iccid: board.iccid }], reprovision);
    assert.equal(d.action, 'refuse');
    if (d.action === 'refuse') {
      assert.equal(d.code, 'in-flight');
      assert.deepEqual(d.matches, [`iccid ${board.iccid}`]);
    }
  }
});

test('matchingIds lists matching fields in a fixed order', () => {
  assert.deepEqual(matchingIds(board, board), [
    `imei ${board.imei}`,
    `iccid ${board.iccid}`,
    `mcuUid ${board.mcuUid}`,
  ]);
  assert.deepEqual(matchingIds(board, other), []);
});

test('HardwareClaims: a slot sees the others but not itself; release frees the board', () => {
  const c = new HardwareClaims();
  c.claim('1', board);
  c.claim('2', other);
  assert.deepEqual(c.othersThan('1'), [other]);
  assert.deepEqual(c.othersThan('3'), [board, other]);
  c.release('2');
  assert.deepEqual(c.othersThan('1'), []);
});
