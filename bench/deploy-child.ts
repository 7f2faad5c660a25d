// Child process of the converterPeakMemory section: deploys one file with the project's own
// deployDataset (to the embedded local S3, which runs in its own process) and prints one JSON line
// with this process's peak RSS and what it was made of. The section runs it as an esbuild bundle
// (dist/bench/deploy-child.js), as the CLI and the extension run the runtime, not through tsx (whose
// compiled-TypeScript caches would add ~90 MB that no user's process holds).
// Usage: node dist/bench/deploy-child.js FILE STATE_DIR
import { deployDataset, shutdownEmbeddedServices } from '../runtime';

const MB = 1e6;
const SAMPLE_MS = 20;

async function main(): Promise<void> {
  const [file, stateDir] = process.argv.slice(2);
  // Before the deploy: the runtime loaded, nothing read yet (the local services start inside the deploy).
  const baselineRss = process.memoryUsage().rss;
  let atPeak = process.memoryUsage();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > atPeak.rss) atPeak = m;
  }, SAMPLE_MS);
  const t0 = performance.now();
  try {
    const out = await deployDataset({ file, format: 'criteo', testFraction: 0.1 }, { stateDir });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    // resourceUsage().maxRSS is in kilobytes: the kernel's own high-water mark for this process (every
    // page, however briefly resident; the samples every 20 ms only say what the peak was made of).
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    console.log(
      JSON.stringify({
        peakRssBytes,
        baselineRssBytes: baselineRss,
        sampledPeak: { rssMB: atPeak.rss / MB, heapTotalMB: atPeak.heapTotal / MB, arrayBuffersMB: atPeak.arrayBuffers / MB },
        seconds,
        rows: out.manifest.counts.rows,
        partitions: out.manifest.partitions.train.length + out.manifest.partitions.test.length,
      }),
    );
  } finally {
    clearInterval(timer);
    await shutdownEmbeddedServices();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
