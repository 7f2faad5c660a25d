// Types shared by the train stage and its parts (worker slots, parameter-server supervisor), kept here
// so that none of them imports another for its types.
import type { RunConfig } from '../config/run-config';

export interface TrainSettings {
  workers: number;
  minibatch: number;
  maxSeconds: number;
  targetLoss?: number;
  epochs?: number;
  /** training.patience: evaluations in a row with a risen test loss before a run stops (0: off). */
  patience: number;
  evalEverySeconds: number;
  memoryMB: number;
  timeoutSeconds: number;
  functionName: string;
  killWorkerFraction: number;
  checkpointEverySeconds: number;
  faults: NonNullable<RunConfig['faults']>;
  /** Hard limit on the run's dollars (runtime/provisioning/budget.ts). */
  budgetUSD?: number;
}
