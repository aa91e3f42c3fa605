// LogBudget: a client repeating a refused request cannot flood the log; what was dropped is counted
// on the next line let through.
import test from 'ava';
import { LogBudget, silentLogger, tracing } from '../../lib/core/log.ts';

test('at most perSecond lines a second; the next line after a burst says how many were dropped', (t) => {
  const budget = new LogBudget(3);
  const t0 = 1_000_000;
  t.deepEqual([budget.take(t0), budget.take(t0 + 1), budget.take(t0 + 2)], [0, 0, 0]);
  t.deepEqual([budget.take(t0 + 3), budget.take(t0 + 500), budget.take(t0 + 999)], [-1, -1, -1]);
  t.is(budget.take(t0 + 1000), 3, 'a new second: the line carries the 3 dropped');
  t.is(budget.take(t0 + 1001), 0);
});

test('tracing is on only for a logger that says debug is enabled', (t) => {
  t.false(tracing(silentLogger));
  t.true(tracing({ ...silentLogger, isLevelEnabled: (level) => level === 'debug' }));
  t.false(tracing({ ...silentLogger, isLevelEnabled: () => false }));
});
