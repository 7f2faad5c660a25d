// training.adaptive in a real run: every training.adaptiveEverySeconds the driver re-plans how many
// worker slots run at once (at most training.workers) and the memory of the next generation, with the
// same rule the simulator plays forward (runtime/provisioning/adaptive.ts `replan`), from what this run
// measured: samples/s over the interval, the test loss now and one interval ago, the workers' peak memory.
// Each change is a `resize` event with its reason (the dashboard's workers chart shows them).
import type { ResolvedRunConfig } from '../config/run-config';
import { DEFAULT_REPLAN, fitConvergence, replan, type ConvergenceModel, type SizeDecision } from '../provisioning/adaptive';
import { perfModelFor, environmentFor } from '../provisioning/estimate';
import { localStartSeconds, type Environment, type PerfModel } from '../provisioning/perf-model';
import { memoryCandidates } from '../provisioning/planner';
import { WORKER_GRID } from '../provisioning/simulator';
import type { PsConnection as PsClient } from '../ps/sharded-client';
import type { Emit, Log } from '../recording/events';
import type { WorkerSlots } from './worker-slots';

/** Worker counts the rule chooses from: every count up to 16, then the simulator's grid, up to the slots. */
export function workerGrid(max: number): number[] {
  return [...new Set([...Array.from({ length: Math.min(16, max) }, (_, i) => i + 1), ...WORKER_GRID.filter((w) => w <= max), max])].sort((a, b) => a - b);
}

export class AdaptiveControl {
  private readonly model: PerfModel;
  private readonly conv: ConvergenceModel;
  private readonly env: Environment;
  /** Elapsed seconds of the last re-plan. */
  lastAt = 0;
  private lastSamples = 0;
  /** The best test loss at earlier re-plans (what "the loss stopped falling" is judged against). */
  private bestLoss = Infinity;
  readonly decisions: SizeDecision[] = [];

  constructor(
    private readonly o: {
      config: ResolvedRunConfig;
      stateDir: string | undefined;
      runId: string;
      slots: WorkerSlots;
      emit: Emit;
      log: Log;
      /** Re-deploys the function with a new memory size (running generations keep theirs). */
      redeploy: (memoryMB: number) => Promise<void>;
    },
  ) {
    // Past runs on the same data (this one left out), else the default figures; the loss curve gives the convergence model.
    this.model = perfModelFor(o.config, o.stateDir, { exclude: o.runId });
    this.conv = fitConvergence(this.model);
    this.env = environmentFor(o.config);
  }

  /** The first size, before anything is measured: the rule at the model's rate and the initial loss. */
  async start(client: PsClient, elapsed: number): Promise<void> {
    this.lastAt = elapsed;
    await this.decide(client, elapsed, { samplesPerSecond: 0, loss: this.conv.initialLoss, previousLoss: Infinity }, 'start: ');
  }

  /** A re-plan from the interval since the last one; `loss` is the latest test loss. */
  async tick(client: PsClient, elapsed: number, loss: number): Promise<void> {
    const samples = this.o.slots.totalSamples();
    const samplesPerSecond = (samples - this.lastSamples) / Math.max(1e-3, elapsed - this.lastAt);
    this.lastAt = elapsed;
    this.lastSamples = samples;
    await this.decide(client, elapsed, { samplesPerSecond, loss, previousLoss: this.bestLoss }, '');
    // Only once samples were trained: the untrained model's loss is no mark to beat.
    if (samplesPerSecond > 0) this.bestLoss = Math.min(this.bestLoss, loss);
  }

  private async decide(client: PsClient, t: number, m: { samplesPerSecond: number; loss: number; previousLoss: number }, prefix: string): Promise<void> {
    const { slots, config } = this.o;
    const peak = slots.peakHeartbeatMemoryMB;
    // Memory: the right-sized floor over this run's measured peak (and the grid above it on AWS, where memory buys CPU).
    const memoryGrid = peak > 0 ? memoryCandidates({ ...config, lambda: { ...config.lambda, autoMemory: true } }, { ...this.model, peakWorkerMemoryMB: peak }, this.env) : [slots.memoryMB];
    const d = replan(this.model, config, this.env, this.conv, { workers: slots.active, memoryMB: slots.memoryMB, ...m, intervalSeconds: config.training.adaptiveEverySeconds }, t, {
      workerGrid: workerGrid(slots.size),
      memoryGrid,
      ...DEFAULT_REPLAN,
      // The new memory takes effect at the next generation, which then starts cold instead of warm.
      memoryChangeSeconds: Math.max(0, localStartSeconds(this.model, false) + (this.env.kind === 'aws' ? this.env.coldStartSeconds : 0) - localStartSeconds(this.model, true)),
      targetLoss: config.training.targetLoss,
    });
    if (d.workers === slots.active && d.memoryMB === slots.memoryMB) return;
    const previous = { workers: slots.active, memoryMB: slots.memoryMB };
    if (d.memoryMB !== slots.memoryMB) {
      await this.o.redeploy(d.memoryMB);
      slots.memoryMB = d.memoryMB;
    }
    await slots.setActive(d.workers, client);
    const reason = prefix + d.reason;
    this.decisions.push({ ...d, reason });
    this.o.emit({ type: 'resize', workers: slots.active, memoryMB: slots.memoryMB, previousWorkers: previous.workers, previousMemoryMB: previous.memoryMB, reason });
    this.o.log('info', `adaptive: ${previous.workers} -> ${slots.active} workers, ${previous.memoryMB} -> ${slots.memoryMB} MB: ${reason}`);
  }
}
