// The worker's parts an asynchronous training invocation does not use, built into a second file of the
// function (dist/worker/extras.js, scripts/build.mjs) and loaded on first use (handler.ts, `extras()`):
// the AWS SDK's S3 client (a synchronous step's channel, preprocessing and double ML tasks, runs with
// injected S3 faults or without credentials in the environment), the Redis client and the synchronous
// step. A cold start compiles all of index.js whatever it runs: with these in it, it was 1 MB and about
// 110 ms of CPU to load; without, under 100 KB and about 25 ms (docs/benchmarks.md, coldStart).
export { createS3Client, getObjectWithEtag, headObject } from '../storage/s3';
export { withS3Faults } from '../storage/faults';
export { createSyncStep } from './sync-step';
export { runPreprocessTask } from './preprocess-task';
export { runDoubleMLTask } from './doubleml-task';
