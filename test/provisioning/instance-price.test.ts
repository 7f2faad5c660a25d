// On AWS the parameter server runs on the run's own instance type: the cost shown and the budget guard
// price its hours at that type's price, not the default host's (issue 16's guardrails).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instancePricePerHour } from '../../runtime/backends/aws/plan';
import { CostMeter } from '../../runtime/cost/cost-model';
import { PRICES } from '../../runtime/cost/prices';
import { BudgetGuard } from '../../runtime/provisioning/budget';

test("the parameter server's hours cost the instance type's price in the meter and the budget guard", () => {
  const meter = new CostMeter();
  meter.parameterServerSeconds = 3600;
  assert.equal(meter.breakdown().parameterServer, PRICES.parameterServerPerHour);
  meter.parameterServerUSDPerHour = instancePricePerHour('c6i.2xlarge');
  assert.equal(meter.breakdown().parameterServer, 0.34);

  const onDefault = BudgetGuard.forRun(1, 2, 1024, 1);
  const onLarge = BudgetGuard.forRun(1, 2, 1024, 1, instancePricePerHour('c6i.2xlarge'));
  assert.ok(Math.abs(onLarge.burnUSDPerSecond - onDefault.burnUSDPerSecond - (0.34 - PRICES.parameterServerPerHour) / 3600) < 1e-15);
  assert.throws(() => instancePricePerHour('x9.huge'), /aws\.instanceType: no price known for "x9\.huge"/);
});
