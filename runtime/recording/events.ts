// The typed event stream of a run (a training, a sweep, a preprocessing). The recorder (recorder.ts)
// appends each as one JSON line to the run folder's metrics.jsonl, and every view (CLI progress, VS Code
// trees, the dashboard) is built from them, live or replayed from the file. Types only: the webview
// bundles this file's types.
import type { ByzantineKind } from '../aggregation/byzantine';
import type { PsTraffic, StartupSteps, StepTiming } from '../ps/types';

/** crossfit and aggregate: the stages of a double machine learning estimate (runtime/causal). */
export type StageName = 'load' | 'preprocess' | 'train' | 'tune' | 'evaluate' | 'crossfit' | 'aggregate';

interface Base {
  t: number; // seconds since the run started
  runId: string;
}

export type RunEvent =
  | (Base & { type: 'run-started'; name: string; config: unknown; backend: string })
  | (Base & { type: 'stage-started'; stage: StageName; workers: number; memoryMB: number })
  | (Base & { type: 'stage-finished'; stage: StageName; seconds: number; gbSeconds: number; peakMemoryMB: number; costUSD: number; workers: number; memoryMB: number })
  | (Base & { type: 'progress'; stage: StageName; message: string; fraction?: number })
  /** training.adaptive: the driver re-planned the workers running at once (at most training.workers) and the memory of the next generation. */
  | (Base & { type: 'resize'; workers: number; memoryMB: number; previousWorkers: number; previousMemoryMB: number; reason: string })
  | (Base & { type: 'worker-launched'; worker: number; generation: number; reason: 'start' | 'time-limit' | 'relaunch-after-failure'; /** fault injection: this generation corrupts its updates */ byzantine?: { kind: ByzantineKind; factor: number } })
  | (Base & { type: 'worker-heartbeat'; worker: number; generation: number; samples: number; samplesPerSecond: number; s3MBps: number; memoryMB: number; trainLoss?: number; bytesSent?: number; requests?: number; pushBytes?: number; heldRows?: number })
  /** coldStart: the invocation started a new execution environment (false: a warm one was reused);
   *  firstGradientMs: from the driver's invoke to the worker's first pushed gradient; startup: where
   *  that time went (ms: invoke to handler entry, of it the process's own start-up; then from handler
   *  entry to each step: parameter server connected, first heartbeat, first partition, first gradient). */
  | (Base & { type: 'worker-finished'; worker: number; generation: number; status: 'time-limit' | 'done' | 'failed' | 'stopped'; error?: string; billedMs: number; memoryMB: number; samples: number; traffic?: PsTraffic; coldStart?: boolean; firstGradientMs?: number; timing?: StepTiming; startup?: WorkerStartup })
  /** baselineLoss: the test loss of a constant prediction (base-rate log-loss, mean-rating RMSE), the bar a model must beat.
   *  pulled (the monitor's evaluations): the parameter server's update count just before and just after
   *  the evaluated model was pulled (the model holds between the two: an exact progress figure, where
   *  `samples` comes from heartbeats that lag), and how long before this event the pull ended (ms). */
  | (Base & { type: 'eval'; testLoss: number; testAccuracy?: number; testRMSE?: number; trainLoss?: number; samples: number; costUSD: number; baselineLoss?: number; pulled?: EvalPull })
  /** applySeconds / gatherSeconds: the server's time in optimiser steps and in copying pulled rows, since it started. */
  | (Base & { type: 'ps-stats'; updates: number; updatesPerSecond: number; connections: number; applySeconds?: number; gatherSeconds?: number })
  | (Base & { type: 'cost'; totalUSD: number; byComponent: Record<string, number> })
  | (Base & { type: 'log'; level: 'info' | 'warn' | 'error'; message: string })
  /** shard: which parameter-server shard (parameterServer.shards > 1); absent with one server. */
  | (Base & { type: 'checkpoint'; seq: number; key: string; bytes: number; seconds: number; updates: number; shard?: number })
  | (Base & { type: 'ps-restarted'; checkpoint: number | null; lostSeconds: number; downSeconds: number; reason: string; shard?: number })
  /** The parameter server's update screen (parameterServer.screen) refused `count` more pushes of `worker` since the last such event. */
  | (Base & { type: 'updates-rejected'; worker: number; count: number; total: number; accepted: number; lastRms?: number; workerMedianRms?: number; bound?: number })
  | (Base & { type: 'run-resumed'; checkpoint: number; trainSeconds: number })
  | (Base & { type: 'run-finished'; status: 'completed' | 'stopped' | 'failed'; reason: string; summary: RunSummary });

/** Where an evaluated model stood: the parameter server's update count around its pull, and the pull's end before the event. */
export interface EvalPull {
  updatesBefore: number;
  updatesAfter: number;
  msBeforeEvent: number;
}

/** A worker invocation's start-up as recorded: the worker's steps, and invoke to handler entry (the platform's part). */
export interface WorkerStartup extends StartupSteps {
  invokeToHandlerMs: number;
  /** The REPORT line's Init Duration (a cold start: loading the function's code), as the platform measured it. */
  initMs?: number;
}

export interface RunSummary {
  runId: string;
  name: string;
  status: 'completed' | 'stopped' | 'failed';
  reason: string;
  testLoss: number | null;
  testAccuracy: number | null;
  testRMSE?: number | null;
  seconds: number;
  samples: number;
  samplesPerSecond: number;
  costUSD: number;
  cost: Record<string, number>;
  stages: Array<{ stage: StageName; seconds: number; gbSeconds: number; peakMemoryMB: number; costUSD: number; workers: number; memoryMB: number }>;
  modelPath?: string;
  runFolder: string;
  /** What `cirrus estimate` predicted for this run before it started (runtime/provisioning), to compare with the actual figures. */
  estimate?: { expectedSeconds: number; expectedUSD: number; range?: { seconds: [number, number]; usd: [number, number] }; basis?: string };
  /** What the workers sent the parameter server (training runs): in all and per worker (index = worker). */
  traffic?: { total: PsTraffic; perWorker: PsTraffic[] };
  /** Pushes the parameter server's screen refused, per worker (index = worker); absent when none were. */
  rejectedUpdates?: number[];
  /** How the workers trained (training runs): the sync mode, and for sync-sgd its channel, scheme and aggregation. */
  training?: RunTrainingMode;
}

/** A run's sync mode and channel, as the summary, the CLI and the dashboard name them. */
export interface RunTrainingMode {
  sync: 'async-sgd' | 'model-averaging' | 'sync-sgd';
  /** Where updates meet: the parameter server for the asynchronous modes, else training.channel. */
  channel: 'ps' | 's3' | 'redis';
  scheme?: 'all-reduce' | 'scatter-reduce' | 'pywren';
  average?: 'gradients' | 'models';
  aggregation?: string;
}

export type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

/** Emits an event; the recording adds its time and id. */
export type Emit = (event: DistributiveOmit<RunEvent, 't' | 'runId'>) => void;

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;
