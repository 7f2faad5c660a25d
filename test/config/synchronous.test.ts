// training.sync "sync-sgd" settings: defaults, the conditions each aggregation rule needs (named by
// setting), ignored settings warned about, and a resolved config resolving to itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../runtime/config/problems';
import { resolveRunConfig } from '../../runtime/config/resolve';
import type { RunConfig } from '../../runtime/config/run-config';

const base = (training: RunConfig['training']): RunConfig => ({ dataset: { path: 'x.tsv', format: 'criteo' }, training });

test('sync-sgd resolves with its defaults, and a resolved config resolves to itself', () => {
  const { config, warnings } = resolveRunConfig(base({ sync: 'sync-sgd', workers: 3 }));
  assert.deepEqual(config.training.synchronous, { channel: 'ps', scheme: 'all-reduce', average: 'gradients', aggregation: { rule: 'mean', f: 0 }, stepTimeoutSeconds: 30 });
  assert.deepEqual(warnings, []);
  const again = resolveRunConfig(config);
  assert.deepEqual(again.config, config);
  assert.deepEqual(again.warnings, []);
  const krum = resolveRunConfig(base({ sync: 'sync-sgd', workers: 5, channel: 's3', aggregation: 'krum' })).config.training.synchronous;
  assert.deepEqual(krum?.aggregation, { rule: 'krum', f: 1 });
});

test('each rule\'s condition is checked at validation, naming training.aggregation', () => {
  const problem = (training: RunConfig['training']) => {
    try {
      resolveRunConfig(base(training));
      return undefined;
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.map((p) => `${p.field}: ${p.message}`).join('\n');
    }
  };
  assert.match(problem({ sync: 'sync-sgd', workers: 4, aggregation: 'krum' }) ?? '', /^training\.aggregation: krum needs n >= 2f \+ 3 workers: with f = 1 that is 5, got n = 4/);
  assert.match(problem({ sync: 'sync-sgd', workers: 7, aggregation: { rule: 'krum', f: 3 } }) ?? '', /that is 9, got n = 7/);
  assert.match(problem({ sync: 'sync-sgd', workers: 2, aggregation: 'trimmed-mean' }) ?? '', /training\.aggregation: trimmed-mean .* n > 2f/);
  assert.match(problem({ sync: 'sync-sgd', workers: 5, aggregation: 'krum', scheme: 'scatter-reduce' }) ?? '', /training\.aggregation: krum compares whole updates/);
  assert.equal(problem({ sync: 'sync-sgd', workers: 5, aggregation: 'krum' }), undefined);
  assert.equal(problem({ sync: 'sync-sgd', workers: 2, aggregation: 'median' }), undefined);
  // training.filter: with the mean, through every channel but the pywren scheme's whole-model objects.
  assert.match(problem({ sync: 'sync-sgd', scheme: 'pywren', channel: 's3', filter: { type: 'topk', fraction: 0.01 } }) ?? '', /^training\.filter: is not implemented with training\.scheme "pywren"/);
  for (const rule of ['krum', 'multi-krum', 'median', 'trimmed-mean'] as const) {
    assert.match(problem({ sync: 'sync-sgd', workers: 5, aggregation: rule, filter: { type: 'significance', threshold: 0.7 } }) ?? '', new RegExp(`^training\\.filter: cannot be combined with training\\.aggregation "${rule}": a filtered update is sparse and delayed`));
  }
  for (const channel of ['ps', 's3', 'redis'] as const) {
    for (const scheme of ['all-reduce', 'scatter-reduce'] as const) {
      assert.equal(problem({ sync: 'sync-sgd', channel, scheme, filter: { type: 'topk', fraction: 0.01 } }), undefined);
      assert.equal(problem({ sync: 'sync-sgd', channel, scheme, aggregation: 'mean', filter: { type: 'significance', threshold: 0.7 } }), undefined);
    }
  }
  assert.equal(problem({ sync: 'sync-sgd', average: 'models', filter: { type: 'significance', threshold: 0.7 } }), undefined);
  // scheme "pywren" moves the model through S3: it needs channel s3, and its workers send gradients.
  assert.match(problem({ sync: 'sync-sgd', scheme: 'pywren' }) ?? '', /^training\.scheme: "pywren" .* needs training\.channel "s3" \(got "ps"\)/);
  assert.match(problem({ sync: 'sync-sgd', scheme: 'pywren', channel: 's3', average: 'models' }) ?? '', /training\.average: "models" is not implemented with training\.scheme "pywren"/);
  assert.equal(problem({ sync: 'sync-sgd', scheme: 'pywren', channel: 's3' }), undefined);
});

test('sync-only settings with another sync mode are warned about as ignored', () => {
  const { warnings } = resolveRunConfig(base({ channel: 's3', aggregation: 'median' }));
  assert.deepEqual(warnings.map((w) => w.field).sort(), ['training.aggregation', 'training.channel']);
});
