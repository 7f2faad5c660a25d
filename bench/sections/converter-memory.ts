// converterPeakMemory: not measured yet (see docs/benchmarks.md).
import { type SectionResult, SkipSection } from '../context';

export async function converterPeakMemory(): Promise<SectionResult> {
  throw new SkipSection('not written yet');
}
