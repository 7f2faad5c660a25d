// Multiclass softmax regression end to end on a real dataset with more than two classes: MovieLens
// 100k users, label = age group (4 classes, from u.user), features = the movies the user rated (from
// u.data). Built as a LIBSVM file in a temp dir (GroupLens's licence forbids redistributing the data,
// so the fixture is derived at test time from ../shared).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { shutdownEmbeddedServices, startTraining } from '../../runtime/index';
import { seededRandom } from '../../runtime/tuning/sweep-config';
import { sharedDataset } from '../helpers/shared';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-softmax-'));
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(dir, { recursive: true, force: true });
});

const AGE_GROUPS = [25, 35, 45]; // <25, 25-34, 35-44, 45+

/** One LIBSVM row per user: `ageGroup item:1 item:1 ...`, users in a seeded random order. */
function buildAgeDataset(usersFile: string, ratingsFile: string): { file: string; labels: number[] } {
  const ageGroup = new Map<number, number>();
  for (const line of fs.readFileSync(usersFile, 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const [id, age] = line.split('|');
    ageGroup.set(Number(id), AGE_GROUPS.filter((limit) => Number(age) >= limit).length);
  }
  const rated = new Map<number, Set<number>>();
  for (const line of fs.readFileSync(ratingsFile, 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const [user, item] = line.split('\t').map(Number);
    if (!rated.has(user)) rated.set(user, new Set());
    rated.get(user)!.add(item);
  }
  const users = [...rated.keys()];
  const random = seededRandom(7);
  for (let i = users.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [users[i], users[j]] = [users[j], users[i]];
  }
  const labels = users.map((u) => ageGroup.get(u)!);
  const lines = users.map((u, i) => `${labels[i]} ${[...rated.get(u)!].sort((a, b) => a - b).map((item) => `${item}:1`).join(' ')}`);
  const file = path.join(dir, 'ml100k-age.libsvm');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, labels };
}

test('softmax on MovieLens 100k age groups (4 classes): accuracy clearly above the majority class, log-loss below uniform', async (t) => {
  const usersFile = sharedDataset(t, 'movielens-100k/u.user');
  const ratingsFile = sharedDataset(t, 'movielens-100k/u.data');
  if (!usersFile || !ratingsFile) return;
  const { file, labels } = buildAgeDataset(usersFile, ratingsFile);
  const testFraction = 0.25;
  const testLabels = labels.slice(labels.length - Math.floor(labels.length * testFraction));
  const counts = [0, 0, 0, 0];
  for (const y of testLabels) counts[y]++;
  const majority = Math.max(...counts) / testLabels.length;

  const handle = await startTraining(
    {
      name: 'ml100k-age-softmax',
      dataset: { path: file, format: 'libsvm', testFraction },
      model: { type: 'softmax' },
      // Picked with a 12-trial cirrus sweep (lr x l2 x epochs): 0.49-0.50 accuracy, log-loss 1.10-1.12.
      optimizer: { type: 'adagrad', learningRate: 0.02, l2: 0.01 },
      training: { workers: 2, minibatch: 10, maxSeconds: 30, epochs: 5, evalEverySeconds: 0.5 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
    },
    { stateDir: path.join(dir, 'state') },
  );
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  const config = JSON.parse(fs.readFileSync(path.join(handle.runFolder, 'model.json'), 'utf8')) as { schema: { classes: number } };
  assert.equal(config.schema.classes, 4, 'four classes learned from the labels');
  assert.ok(summary.testAccuracy !== null, 'accuracy reported');
  assert.ok(summary.testAccuracy >= majority + 0.08, `accuracy ${summary.testAccuracy.toFixed(3)} vs majority-class baseline ${majority.toFixed(3)}`);
  assert.ok(summary.testLoss !== null && summary.testLoss < Math.log(4), `log-loss ${summary.testLoss} below the uniform guess's ${Math.log(4).toFixed(3)}`);
  const evals = readRunEvents(handle.runFolder).filter((e) => e.type === 'eval');
  assert.ok(evals.length >= 2 && evals.every((e) => e.type === 'eval' && e.testAccuracy !== undefined), 'accuracy and log-loss evaluated as the run goes');
  t.diagnostic(`accuracy ${summary.testAccuracy.toFixed(3)}, log-loss ${summary.testLoss.toFixed(3)}, majority baseline ${majority.toFixed(3)}`);
});
