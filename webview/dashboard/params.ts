// Runs told apart by their parameters: the configs' leaves that differ between the runs shown give
// each run its legend name (`lr=0.05`) and the rows of the parameters diff table. Pure (no DOM).

/** Leaves of a config as dotted paths (`optimizer.learningRate`); arrays are one value. `$schema` is not a parameter. */
export function flatten(config: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (config && typeof config === 'object' && !Array.isArray(config)) {
    for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
      if (k === '$schema') continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (prefix) {
    out.set(prefix, typeof config === 'string' ? config : JSON.stringify(config));
  }
  return out;
}

// Short names for the parameters people compare most; any other path shows its last segment.
const SHORT: Record<string, string> = {
  'optimizer.learningRate': 'lr',
  'optimizer.l2': 'l2',
  'training.minibatch': 'batch',
  'training.workers': 'workers',
  'lambda.memoryMB': 'memory',
};

export function shortName(path: string): string {
  return SHORT[path] ?? path.slice(path.lastIndexOf('.') + 1);
}

export interface ParamDiff {
  /** Paths whose value is not the same in every run (a missing value counts as different), sorted. */
  paths: string[];
  /** Per run, its value for each differing path ('–' when the run does not set it). */
  values: Map<string, Map<string, string>>;
}

export function diffParams(runs: Array<{ runId: string; config: unknown }>): ParamDiff {
  const flat = runs.map((r) => ({ runId: r.runId, leaves: flatten(r.config) }));
  const all = new Set(flat.flatMap((f) => [...f.leaves.keys()]));
  // The name is what the runs are already called; the differing parameters are what tells them apart.
  all.delete('name');
  const paths = runs.length < 2 ? [] : [...all].filter((p) => new Set(flat.map((f) => f.leaves.get(p) ?? '–')).size > 1).sort();
  const values = new Map(flat.map((f) => [f.runId, new Map(paths.map((p) => [p, f.leaves.get(p) ?? '–']))]));
  return { paths, values };
}

/**
 * A run's name in legends: its name alone when no other run shown has that name (the diff table lists
 * what else differs), else the name with the parameters (at most three) that tell the same-named runs
 * apart, so two runs of one config file with another learning rate read `ctr (lr=0.05)`.
 */
export function runLabels(runs: Array<{ runId: string; name: string; config: unknown }>, max = 3): Map<string, string> {
  const byName = new Map<string, typeof runs>();
  for (const r of runs) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const labels = new Map<string, string>();
  for (const [name, group] of byName) {
    if (group.length === 1) {
      labels.set(group[0].runId, name);
      continue;
    }
    const diff = diffParams(group);
    for (const r of group) {
      const values = diff.values.get(r.runId)!;
      const parts = diff.paths.slice(0, max).map((p) => `${shortName(p)}=${values.get(p)}`);
      // Identical configs: the run id's tail is all that differs.
      if (parts.length === 0) parts.push(r.runId.slice(-6));
      labels.set(r.runId, `${name} (${parts.join(', ')})`);
    }
  }
  return labels;
}
