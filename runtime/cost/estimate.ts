// The estimate before a run lives with the performance model it predicts through
// (runtime/provisioning/estimate.ts); re-exported here where the cost code's readers look for it.
export { estimateRun, estimateRows } from '../provisioning/estimate';
