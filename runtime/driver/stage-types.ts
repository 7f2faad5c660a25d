// Types shared by the train stage and its parts (worker slots, parameter-server supervisor), kept here
// so that none of them imports another for its types.
import type { ResolvedRunConfig } from '../config/run-config';

/** The resolved training settings a train stage reads, plus the function's and the faults'. */
export interface TrainSettings
  extends Pick<ResolvedRunConfig['training'], 'workers' | 'minibatch' | 'maxSeconds' | 'targetLoss' | 'epochs' | 'patience' | 'evalEverySeconds' | 'checkpointEverySeconds'> {
  memoryMB: number;
  timeoutSeconds: number;
  functionName: string;
  killWorkerFraction: number;
  faults: ResolvedRunConfig['faults'];
  /** Hard limit on the run's dollars (runtime/provisioning/budget.ts). */
  budgetUSD?: number;
}
