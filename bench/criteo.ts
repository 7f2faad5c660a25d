// Criteo loading for the benchmark and the model tests, through the project's own reader
// (runtime/data: streaming lines, CriteoReader hashing as the reference kernel does, SampleBuilder).
import { decodePartition, type SamplePartition } from '../runtime/data/partition';
import { readLineBatches } from '../runtime/data/lines';
import { CriteoReader } from '../runtime/data/readers/criteo';
import type { SampleReader } from '../runtime/data/readers/types';
import { SampleBuilder, SparseRow } from '../runtime/data/rows';

export { sliceRows } from './criteo-local';
export const readerName = 'runtime/data CriteoReader';

/** Parses and hashes a whole Criteo TSV file into one in-memory partition. */
export async function loadCriteo(file: string, hashBits = 20): Promise<SamplePartition> {
  const reader: SampleReader = new CriteoReader({ hashBits });
  const row = new SparseRow();
  const builder = new SampleBuilder();
  reader.beginFile(file, 'train');
  for await (const batch of readLineBatches(file)) {
    for (let i = 0; i < batch.lines.length; i++) {
      if (!reader.parse(batch.lines[i], batch.firstLine + i)) continue;
      const label = reader.toSample(row, false);
      builder.add(label, row);
    }
  }
  return decodePartition(builder.take()) as SamplePartition;
}

/** The conversion work of a deploy without the upload: stream, parse, hash, and encode partitions
 *  of `partitionRows` rows (dropped once encoded). Returns rows, bytes read and partitions made. */
export async function convertCriteoFile(file: string, hashBits = 20, partitionRows = 50_000): Promise<{ rows: number; bytes: number; partitions: number }> {
  const reader: SampleReader = new CriteoReader({ hashBits });
  const row = new SparseRow();
  const builder = new SampleBuilder();
  let rows = 0;
  let bytes = 0;
  let partitions = 0;
  reader.beginFile(file, 'train');
  for await (const batch of readLineBatches(file, { onRaw: (chunk) => (bytes += chunk.length) })) {
    for (let i = 0; i < batch.lines.length; i++) {
      if (!reader.parse(batch.lines[i], batch.firstLine + i)) continue;
      builder.add(reader.toSample(row, true), row);
      rows++;
      if (builder.rows === partitionRows) {
        builder.take();
        partitions++;
      }
    }
  }
  if (builder.rows > 0) {
    builder.take();
    partitions++;
  }
  return { rows, bytes, partitions };
}
