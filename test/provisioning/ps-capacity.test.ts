// The parameter server's capacity per minibatch (bench/ps-capacity.ts), as the simulator's tables are
// measured: a real server over TCP, updates of the rows real minibatches touch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ratingsShape, measurePsCapacity } from '../../bench/ps-capacity';
import { PartitionKind, type RatingPartition } from '../../runtime/data/partition';

/** 20,000 ratings of 500 users x 800 items, sorted by user as MovieLens files are. */
function ratings(): RatingPartition {
  const rows = 20_000;
  const users = new Uint32Array(rows);
  const items = new Uint32Array(rows);
  for (let k = 0; k < rows; k++) {
    users[k] = 1 + Math.floor((k * 500) / rows);
    items[k] = 1 + ((k * 7919) % 800); // 7,919 is prime: any 800 consecutive ratings cover every item
  }
  return { kind: PartitionKind.Ratings, rows, users, items, ratings: new Float32Array(rows).fill(3) };
}

test('MF-shaped updates: touched rows grow with the minibatch, and the server applies fewer of the larger ones a second', async () => {
  const shape = ratingsShape(ratings(), 50);
  assert.equal(shape.width, 51);
  const [small, large] = [shape.touchedRows(100), shape.touchedRows(3000)];
  // 100 ratings of a user-sorted file: 3-4 users (40 ratings each) and 100 items; 3,000: 75-76 users and every item.
  assert.ok(small >= 103 && small <= 104, `${small} rows at minibatch 100`);
  assert.ok(large >= 875 && large <= 876, `${large} rows at minibatch 3,000`);
  const table = await measurePsCapacity(shape, { minibatches: [100, 3000], seconds: 0.5, server: 'inline' });
  assert.deepEqual(table.map(([m]) => m), [100, 3000]);
  // ~9x the floats per update: fewer updates/s, more samples/s (the server's per-update cost is shared by more samples).
  assert.ok(table[1][1] > 0 && table[1][1] < table[0][1] / 2, JSON.stringify(table));
  assert.ok(table[1][1] * 3000 > table[0][1] * 100, JSON.stringify(table));
});
