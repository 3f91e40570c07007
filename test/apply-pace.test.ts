// The apply pace: a turn's slice of committed entries is sized by what applying has cost,
// so a cold or starved thread applies a few dozen entries a turn and a warm one the full
// slice; turns that applied a handful say nothing; one stalled turn halves the slice.
import t from 'tap';
import { APPLY_FIRST, APPLY_MIN, ApplyPace, TURN_TARGET_MS } from '../lib/node/apply-pace.js';

t.test('the first slice is small: nothing is known of the cost yet', async (t) => {
  t.equal(new ApplyPace(1024).budget(), APPLY_FIRST);
  t.equal(new ApplyPace(APPLY_MIN).budget(), APPLY_MIN, 'never above the bound');
  t.throws(() => new ApplyPace(APPLY_MIN - 1), { code: 'RAFTD_ASSERT' });
});

t.test('the slice follows the cost per entry, within its bounds', async (t) => {
  const p = new ApplyPace(1024);
  p.observe(64, 64 * 0.5); // cold: 500 µs an entry (a new leader after a restart)
  t.equal(p.budget(), Math.floor(TURN_TARGET_MS / 0.5), 'a turn of about the target');
  p.observe(30, 30 * 5);
  t.equal(p.budget(), APPLY_MIN, 'never below the floor, however slow');
  const warm = new ApplyPace(1024);
  warm.observe(100, 100 * 0.005);
  t.equal(warm.budget(), 1024, 'a warm thread applies the whole slice');
});

t.test('a stalled turn halves the slice; the next fast turns bring it back', async (t) => {
  const p = new ApplyPace(1024);
  p.observe(500, 500 * 0.02);
  const before = p.budget();
  t.equal(before, Math.floor(TURN_TARGET_MS / 0.02));
  p.observe(500, 500 * 0.02 * 3); // a collection in the middle of it
  t.ok(p.budget() < before && p.budget() >= before / 2, `${p.budget()} after the stall`);
  for (let i = 0; i < 6; i++) p.observe(p.budget(), p.budget() * 0.02);
  t.ok(p.budget() >= before * 0.95, `${p.budget()} a few turns later`);
});

t.test('turns that applied only a few entries, or measured nonsense, leave the estimate alone', async (t) => {
  const p = new ApplyPace(1024);
  p.observe(100, 100 * 0.1);
  const b = p.budget();
  p.observe(3, 50);
  p.observe(0, 10);
  p.observe(100, NaN);
  t.equal(p.budget(), b);
});
