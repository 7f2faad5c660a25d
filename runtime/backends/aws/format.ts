// The plan as text (the CLI prints it; VS Code shows it before Start on AWS).
import { resolveRunConfig } from '../../config/resolve';
import type { RunConfig } from '../../config/run-config';
import { newRunId } from '../../recording/run-folder';
import { fmtUSD } from '../../util/format';
import { planAwsRun, type AwsPlan } from './plan';

/** The plan of a run config on the aws backend, and its text (VS Code's Plan step before Start on AWS). */
export function planAws(config: RunConfig): { plan: AwsPlan; text: string } {
  const { config: resolved } = resolveRunConfig(config);
  const region = resolved.aws?.region;
  if (!region) throw new Error('AWS backend: no region. Set "aws.region" in the run config or pick one with Cirrus: Select AWS Region.');
  const bucket = resolved.aws?.bucket;
  if (!bucket) throw new Error('AWS backend: no bucket. Set "aws.bucket" in the run config or the cirrus.s3.bucket setting.');
  const plan = planAwsRun(resolved, { runId: newRunId(resolved.name ?? 'run'), region, bucket });
  return { plan, text: formatPlan(plan) };
}

export function formatPlan(plan: AwsPlan): string {
  const out: string[] = [];
  out.push(`AWS plan for run ${plan.runId} in ${plan.region}, bucket ${plan.bucket} (nothing has been created)`);
  out.push('', 'Resources:');
  for (const r of plan.resources) out.push(`  ${r.action.padEnd(31)} ${r.kind}: ${r.name}${r.detail ? ` (${r.detail})` : ''}`);
  out.push('', 'API calls, in order:');
  plan.calls.forEach((c, i) => {
    const extra = [c.when && `only if ${c.when}`, c.times && `x ${c.times}`, c.until && `repeated until ${c.until.path} = ${c.until.equals}`].filter(Boolean).join('; ');
    out.push(`  ${String(i + 1).padStart(2)}. [${c.phase}] ${c.service}:${c.operation}${extra ? ` (${extra})` : ''}: ${c.why}`);
  });
  out.push('', 'Cost:');
  for (const l of plan.cost.lines) out.push(`  ${l.item}: ${fmtUSD(l.perHourUSD)}/hour`);
  out.push(`  total ${fmtUSD(plan.cost.perHourUSD)}/hour; for the time limit (${(plan.cost.hours * 60).toFixed(0)} min) at most ${fmtUSD(plan.cost.runUSD)}; hard stop at ${fmtUSD(plan.cost.capUSD)}`);
  const g = plan.guardrails;
  out.push('', 'Guardrails:');
  out.push(`  workers ${g.workers} of at most ${g.maxConcurrency} (aws.maxConcurrency)`);
  out.push(`  the run stops, model saved, before ${fmtUSD(g.budgetUSD)} (aws.maxUSD ${fmtUSD(g.maxUSD)}, capping training.budgetUSD)`);
  if (plan.instance) out.push(`  the instance terminates itself after ${plan.instance.selfTerminateMinutes} min (aws.maxInstanceMinutes ${g.maxInstanceMinutes})`);
  if (plan.instance) out.push('', "The instance's user data:", ...plan.instance.userDataScript.trimEnd().split('\n').map((l) => `  | ${l}`));
  return out.join('\n');
}
