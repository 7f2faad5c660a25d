import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate, aggregationProblem, krum, krumSelect, mean, median, multiKrum, trimmedMean } from '../../runtime/aggregation/robust';
import { corrupt, seededRandom } from '../../runtime/aggregation/byzantine';

const f32 = (...v: number[]) => Float32Array.from(v);

/** n honest updates near `centre` (small seeded noise) and `bad` Byzantine ones. */
function round(n: number, bad: number, centre: number[], kind: 'flip' | 'scale' | 'random' | 'zero', factor: number): Float32Array[] {
  const rand = seededRandom(5);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const u = Float32Array.from(centre, (c) => c + (rand() - 0.5) * 0.1);
    out.push(i < bad ? corrupt(u, kind, factor, rand) : u);
  }
  return out;
}

test('mean, median and trimmed-mean of small inputs, by hand', () => {
  const u = [f32(1, 10), f32(2, 20), f32(3, 30), f32(100, -1000)];
  assert.deepEqual([...mean(u)], [26.5, -235]);
  assert.deepEqual([...median(u)], [2.5, 15]); // even n: the mean of the two middle values
  assert.deepEqual([...median(u.slice(0, 3))], [2, 20]);
  assert.deepEqual([...trimmedMean(u, 1)], [2.5, 15]); // drops 1 and 100, -1000 and 30
});

test('krum picks the update closest to its n - f - 2 neighbours; multi-krum averages the m best', () => {
  const u = [f32(0, 0), f32(1, 0), f32(0, 1), f32(1, 1), f32(50, 50)];
  // f = 1: each scores the sum of its 2 nearest squared distances; (50,50) is far from everything.
  const chosen = krumSelect(u, 1, 4);
  assert.ok(!chosen.includes(4));
  assert.deepEqual([...krum(u, 1)], [0, 0]); // ties broken by the lower index
  assert.deepEqual([...multiKrum(u, 1)], [0.5, 0.5]); // m = n - f = 4: the four honest ones
});

test('each rule checks its condition with a clear error', () => {
  assert.match(aggregationProblem('krum', 4, 1)!, /n >= 2f \+ 3.*5.*n = 4/);
  assert.equal(aggregationProblem('krum', 5, 1), undefined);
  assert.throws(() => krum([f32(1), f32(2), f32(3), f32(4)], 1), /krum needs n >= 2f \+ 3/);
  assert.throws(() => aggregate('multi-krum', [f32(1), f32(2), f32(3), f32(4), f32(5)], { f: 1, m: 5 }), /m must be an integer in \[1, n - f\] = \[1, 4\]/);
  assert.throws(() => trimmedMean([f32(1), f32(2)], 1), /n > 2f/);
  assert.throws(() => mean([f32(1, 2), f32(1)]), /differ in length/);
  assert.throws(() => mean([]), /at least one update/);
  assert.match(aggregationProblem('krum', 7, -1)!, /non-negative integer/);
});

test('one Byzantine worker of five: the mean is dragged away, krum/median/trimmed-mean stay near the honest centre', () => {
  const centre = [0.5, -0.25, 1, 0];
  for (const kind of ['flip', 'scale', 'random'] as const) {
    const u = round(5, 1, centre, kind, 10);
    const distance = (v: Float32Array) => Math.hypot(...centre.map((c, j) => v[j] - c));
    assert.ok(distance(mean(u)) > 0.5, `${kind}: mean moved ${distance(mean(u))}`);
    for (const rule of ['krum', 'multi-krum', 'median', 'trimmed-mean'] as const) {
      const d = distance(aggregate(rule, u, { f: 1 }));
      assert.ok(d < 0.15, `${kind}/${rule}: ${d} from the honest centre`);
    }
  }
});

test('a NaN update never wins krum', () => {
  const u = [f32(NaN, 0), f32(1, 1), f32(1.1, 1), f32(0.9, 1), f32(1, 1.1)];
  assert.ok(!krumSelect(u, 1, 4).includes(0));
});

test('corruptions: flip, scale, zero by hand; random is seeded and scaled by the update RMS', () => {
  const r = seededRandom(1);
  assert.deepEqual([...corrupt(f32(1, -2), 'flip', 10, r)], [-10, 20]);
  assert.deepEqual([...corrupt(f32(1, -2), 'scale', 3, r)], [3, -6]);
  assert.deepEqual([...corrupt(f32(1, -2), 'zero', 3, r)], [0, 0]);
  const big = new Float32Array(20000).fill(0.5);
  corrupt(big, 'random', 4, seededRandom(2));
  const rms = Math.sqrt(big.reduce((s, x) => s + x * x, 0) / big.length);
  assert.ok(Math.abs(rms - 2) < 0.1, `rms ${rms}`);
  assert.deepEqual(corrupt(new Float32Array(5).fill(1), 'random', 2, seededRandom(9)), corrupt(new Float32Array(5).fill(1), 'random', 2, seededRandom(9)));
});
