// The budget as a hard limit while a run trains: the train stage's monitor asks, at every tick, whether
// the dollars spent so far plus what the run burns until the next tick and through a stop would pass the
// budget; if so the run stops now (workers told to return, model saved) rather than a tick too late.
import { PRICES } from '../cost/prices';

export class BudgetGuard {
  /** Dollars per second the run burns: every worker's GB-seconds and the parameter server's host. */
  readonly burnUSDPerSecond: number;

  constructor(
    readonly budgetUSD: number,
    workers: number,
    memoryMB: number,
    /** Seconds until the monitor looks again plus the time a stop takes to reach the workers and be billed. */
    readonly marginSeconds: number,
    /** The parameter server's host price (an EC2 instance type's on AWS). */
    parameterServerUSDPerHour: number = PRICES.parameterServerPerHour,
  ) {
    this.burnUSDPerSecond = workers * (memoryMB / 1024) * PRICES.lambdaPerGBSecond + parameterServerUSDPerHour / 3600;
  }

  /** A stop takes a heartbeat (0.5 s) to reach the workers, their return, and the final pull: 2 s covers it here. */
  static forRun(budgetUSD: number, workers: number, memoryMB: number, evalEverySeconds: number, parameterServerUSDPerHour?: number): BudgetGuard {
    return new BudgetGuard(budgetUSD, workers, memoryMB, evalEverySeconds + 2, parameterServerUSDPerHour);
  }

  /** True when waiting another tick could take the run past its budget. `spentUSD` includes running invocations. */
  mustStop(spentUSD: number): boolean {
    return spentUSD + this.burnUSDPerSecond * this.marginSeconds + PRICES.lambdaPerRequest * 2 > this.budgetUSD;
  }

  reason(spentUSD: number): string {
    return `budget of $${this.budgetUSD} reached: $${spentUSD.toFixed(6)} spent, and the next ${this.marginSeconds.toFixed(1)} s would pass it`;
  }
}

/** How often the budget is checked between the monitor's ticks. */
export const BUDGET_WATCH_MS = 200;

/**
 * Checks the budget every BUDGET_WATCH_MS, independently of the monitor's ticks (an evaluation or a
 * checkpoint on a loaded machine can hold a tick for seconds). `spent` returns the dollars so far,
 * running invocations included. `reached` resolves once the guard says stop; `reason` says why.
 */
export function watchBudget(guard: BudgetGuard, spent: () => number): { reached: Promise<void>; reason: string; cancel(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const watch = {
    reason: '',
    reached: new Promise<void>((resolve) => {
      timer = setInterval(() => {
        const now = spent();
        if (!guard.mustStop(now)) return;
        watch.reason = guard.reason(now);
        clearInterval(timer);
        resolve();
      }, BUDGET_WATCH_MS);
      timer.unref();
    }),
    cancel: () => clearInterval(timer),
  };
  return watch;
}
