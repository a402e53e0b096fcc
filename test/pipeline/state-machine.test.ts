import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IllegalTransitionError,
  PROVISION_STEPS,
  SlotStateMachine,
  STEP_WEIGHTS,
  TRANSITIONS,
  canTransition,
  totalPercent,
  type SlotState,
} from '../../main/pipeline/state-machine.ts';

const ALL_STATES = Object.keys(TRANSITIONS) as SlotState[];

test('the happy path walks every step in order and is allowed by the table', () => {
  const seen: string[] = [];
  const m = new SlotStateMachine('1', (from, to) => seen.push(`${from}>${to}`));
  for (const s of PROVISION_STEPS) m.to(s);
  m.to('passed');
  assert.equal(m.state, 'passed');
  assert.equal(seen.length, PROVISION_STEPS.length + 1);
  assert.equal(seen[0], 'idle>identify');
  assert.equal(seen.at(-1), 'zeroize>passed');
});

test('passed is reachable only from zeroize, and zeroize only from commit', () => {
  for (const s of ALL_STATES) {
    assert.equal(canTransition(s, 'passed'), s === 'zeroize', `${s} -> passed`);
    assert.equal(canTransition(s, 'zeroize'), s === 'commit', `${s} -> zeroize`);
  }
});

test('commit is reachable only after the MCU write (with or without read-out protection)', () => {
  const into = ALL_STATES.filter((s) => canTransition(s, 'commit')).sort();
  assert.deepEqual(into, ['mcu-write', 'readout-protect']);
});

test('every step after the intent fails through aborting; steps before it fail directly; the intent step may do either', () => {
  const afterIntent = PROVISION_STEPS.slice(PROVISION_STEPS.indexOf('issue'));
  assert.ok(canTransition('intent', 'failed') && canTransition('intent', 'aborting'));
  for (const s of PROVISION_STEPS) {
    if (s === 'zeroize' || s === 'intent') continue;
    const late = (afterIntent as readonly string[]).includes(s);
    assert.equal(canTransition(s, 'aborting'), late, `${s} -> aborting`);
    assert.equal(canTransition(s, 'failed'), !late, `${s} -> failed`);
  }
  assert.deepEqual(TRANSITIONS.aborting, ['failed']);
});

test('terminal states have no way out and every state is reachable from idle', () => {
  assert.deepEqual(TRANSITIONS.passed, []);
  assert.deepEqual(TRANSITIONS.failed, []);
  const reached = new Set<SlotState>(['idle']);
  const queue: SlotState[] = ['idle'];
  while (queue.length) {
    for (const n of TRANSITIONS[queue.shift()!])
      if (!reached.has(n)) {
        reached.add(n);
        queue.push(n);
      }
  }
  assert.deepEqual([...reached].sort(), [...ALL_STATES].sort());
});

test('an illegal transition throws a typed error and leaves the state unchanged', () => {
  const m = new SlotStateMachine('7');
  m.to('identify');
  assert.throws(
    () => m.to('commit'),
    (e: unknown) => {
      assert.ok(e instanceof IllegalTransitionError);
      assert.equal(e.from, 'identify');
      assert.equal(e.to, 'commit');
      assert.match(e.message, /slot 7/);
      return true;
    },
  );
  assert.equal(m.state, 'identify');
});

test('the step a failure is attributed to survives the move to aborting', () => {
  const m = new SlotStateMachine('2');
  for (const s of ['identify', 'duplicate-check', 'intent', 'issue', 'modem-write'] as const)
    m.to(s);
  m.to('aborting');
  assert.equal(m.state, 'aborting');
  assert.equal(m.step, 'modem-write');
});

test('totalPercent is monotonic over the steps and spans 0..100', () => {
  let last = -1;
  for (const s of PROVISION_STEPS)
    for (const p of [0, 25, 50, 100]) {
      const t = totalPercent(s, p);
      assert.ok(t >= last, `${s} ${p}%: ${t} < ${last}`);
      last = t;
    }
  assert.equal(totalPercent('identify', 0), 0);
  assert.equal(totalPercent('zeroize', 100), 100);
  assert.equal(totalPercent('identify', -5), 0);
  assert.equal(totalPercent('zeroize', 500), 100);
  assert.ok(Object.values(STEP_WEIGHTS).every((w) => w > 0));
});
