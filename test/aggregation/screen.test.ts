import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corrupt, seededRandom } from '../../runtime/aggregation/byzantine';
import { mergeScreenRecords, screenProblem, UpdateScreen } from '../../runtime/aggregation/screen';

function gradient(rand: () => number, n: number, scale = 0.01): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() - 0.5) * scale);
}

test('screen (defaults): a flipping worker (x10) of four is refused every time once three workers have pushed, the honest ones never', () => {
  const rand = seededRandom(7);
  const screen = new UpdateScreen();
  for (let step = 0; step < 400; step++) {
    const worker = step % 4;
    // Pushes of any size: a filtered worker pushes few rows or many.
    const g = gradient(rand, 5 + Math.floor(rand() * 600));
    if (worker === 0) corrupt(g, 'flip', 10, rand);
    screen.judge(worker, g);
  }
  const [byzantine, ...honest] = screen.workers();
  assert.equal(byzantine.worker, 0);
  // Until three workers have pushed, nothing is applied (the pushes of workers 0 and 1, counted as early).
  assert.deepEqual([byzantine.accepted, byzantine.rejected, byzantine.early], [0, 99, 1], JSON.stringify(byzantine));
  assert.ok(byzantine.lastRejectedRms! > byzantine.lastBound!);
  assert.deepEqual(honest.map((h) => [h.accepted, h.rejected, h.early ?? 0]), [[99, 0, 1], [100, 0, 0], [100, 0, 0]]);
});

test('screen: the bound follows the updates as they shrink (later, smaller gradients are not judged by the first ones)', () => {
  const rand = seededRandom(1);
  const screen = new UpdateScreen({ factor: 3, window: 20, quorum: 3 });
  let scale = 1;
  for (let step = 0; step < 2000; step++) {
    scale *= 0.998; // 50x smaller by the end
    assert.equal(screen.judge(step % 3, gradient(rand, 100, scale)).accepted, step >= 2, `step ${step}`);
  }
  // A push 10x the current size is refused, though it is far below the first pushes' size; so is a
  // worker whose pushes are typically loud, also its quiet ones (the per-worker bound).
  const loud = gradient(rand, 100, scale * 10);
  const verdict = screen.judge(1, loud);
  assert.equal(verdict.accepted, false);
  // factor 3 x the recent RMS (uniform noise: 0.29 x scale), a little above for the window's lag; the first pushes' bound was ~0.9.
  assert.ok(verdict.bound > 3 * 0.29 * scale && verdict.bound < 4 * 0.29 * scale, `bound ${verdict.bound}, scale ${scale}`);
  for (let i = 0; i < 30; i++) screen.judge(3, gradient(rand, 100, scale * 10));
  assert.equal(screen.judge(3, gradient(rand, 100, scale)).accepted, false, 'a loud worker is refused whole');
  assert.equal(screen.judge(1, gradient(rand, 100, scale)).accepted, true);
});

test('screen: settings are checked, records of several tables or shards add up per worker', () => {
  assert.match(screenProblem({ factor: 1 }, 'parameterServer.screen')!, /parameterServer\.screen\.factor must be a number > 1/);
  assert.match(screenProblem({ window: 0 }, 'screen')!, /window/);
  assert.equal(screenProblem({ factor: 2, window: 5, quorum: 1 }, 'screen'), undefined);
  assert.throws(() => new UpdateScreen({ quorum: 0 }), /quorum/);
  const merged = mergeScreenRecords([
    [{ worker: 1, accepted: 5, rejected: 2, lastRejectedRms: 3, lastBound: 1 }, { worker: 0, accepted: 1, rejected: 0, early: 2 }],
    [{ worker: 1, accepted: 4, rejected: 1, lastRejectedRms: 9, lastBound: 2, early: 1 }],
  ]);
  assert.deepEqual(merged, [
    { worker: 0, accepted: 1, rejected: 0, early: 2 },
    { worker: 1, accepted: 9, rejected: 3, lastRejectedRms: 9, lastBound: 2, early: 1 },
  ]);
});
