// Child process of the converterPeakMemory section: deploys one file with the project's own
// deployDataset (to the embedded local S3, which runs in its own process) and prints one JSON line
// with this process's peak RSS. Usage: node --import tsx bench/deploy-child.ts FILE STATE_DIR
import { deployDataset, shutdownEmbeddedServices } from '../runtime';

async function main(): Promise<void> {
  const [file, stateDir] = process.argv.slice(2);
  let sampledPeak = 0;
  const timer = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 200);
  const t0 = performance.now();
  try {
    const out = await deployDataset({ file, format: 'criteo', testFraction: 0.1 }, { stateDir });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    // resourceUsage().maxRSS is in kilobytes: the kernel's own high-water mark for this process.
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    console.log(JSON.stringify({ peakRssBytes, sampledPeakRssBytes: sampledPeak, seconds, rows: out.manifest.counts.rows, partitions: out.manifest.partitions.train.length + out.manifest.partitions.test.length }));
  } finally {
    clearInterval(timer);
    await shutdownEmbeddedServices();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
