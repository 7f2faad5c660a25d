// Right-sizing (`lambda.memoryMB: "auto"`, FaaSRM's idea at the level a user controls): the memory a
// stage needs is its measured peak with headroom. Pure arithmetic with no Node imports, so the
// dashboard's per-stage table uses the same rule as the planner.

/** Headroom over the measured peak: a later run may touch a little more (a larger minibatch's buffers, GC timing). */
export const RIGHT_SIZE_HEADROOM = 1.25;

/** Memory that holds a measured peak with 25 % headroom, in 64 MB steps (at least 128 MB, Lambda's minimum). */
export function rightSizedMemoryMB(peakMemoryMB: number): number {
  return Math.max(128, Math.ceil((peakMemoryMB * RIGHT_SIZE_HEADROOM) / 64) * 64);
}

/** GB-seconds a stage would have saved at its right-sized memory (billing is linear in memory); 0 when
 *  nothing was measured or the configured size is already at most the right size. */
export function gbSecondsSaved(gbSeconds: number, configuredMB: number, peakMemoryMB: number): number {
  if (!(peakMemoryMB > 0) || !(configuredMB > 0) || !(gbSeconds > 0)) return 0;
  return Math.max(0, gbSeconds * (1 - rightSizedMemoryMB(peakMemoryMB) / configuredMB));
}
