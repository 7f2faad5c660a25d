// Criteo loading for the benchmark and the model tests, through the project's own reader: the row
// loop deploy uses (runtime/data/read.ts forEachRow), CriteoReader hashing as the reference kernel
// does, SampleBuilder making partitions.
import { decodePartition, PartitionKind, type SamplePartition } from '../runtime/data/partition';
import { forEachRow } from '../runtime/data/read';
import { CriteoReader } from '../runtime/data/readers/criteo';
import type { SampleReader } from '../runtime/data/readers/types';
import { SampleBuilder, SparseRow } from '../runtime/data/rows';

export const readerName = 'runtime/data (forEachRow + CriteoReader + SampleBuilder)';

/** Parses and hashes a whole Criteo TSV file into one in-memory partition. */
export async function loadCriteo(file: string, hashBits = 20): Promise<SamplePartition> {
  const reader: SampleReader = new CriteoReader({ hashBits });
  const row = new SparseRow();
  const builder = new SampleBuilder();
  await forEachRow(reader, file, 'train', {}, () => builder.add(reader.toSample(row, false), row));
  return decodePartition(builder.take()) as SamplePartition;
}

/** The conversion work of a deploy without the upload: stream, parse, hash, and encode partitions
 *  of `partitionRows` rows (dropped once encoded). */
export async function convertCriteoFile(file: string, hashBits = 20, partitionRows = 50_000): Promise<{ rows: number; partitions: number }> {
  const reader: SampleReader = new CriteoReader({ hashBits });
  const row = new SparseRow();
  const builder = new SampleBuilder();
  let partitions = 0;
  const rows = await forEachRow(reader, file, 'train', {}, () => {
    // As deploy does (runtime/data/deploy.ts addRow).
    if (reader.toSampleInto) reader.toSampleInto(builder, true);
    else builder.add(reader.toSample(row, true), row);
    if (builder.rows === partitionRows) {
      builder.take();
      partitions++;
    }
  });
  if (builder.rows > 0) {
    builder.take();
    partitions++;
  }
  return { rows, partitions };
}

/** Rows [from, to) of a partition as a partition of their own (feature arrays are views). */
export function sliceRows(part: SamplePartition, from: number, to: number): SamplePartition {
  const base = part.rowStart[from];
  const rowStart = new Uint32Array(to - from + 1);
  for (let r = from; r <= to; r++) rowStart[r - from] = part.rowStart[r] - base;
  return {
    kind: PartitionKind.Samples,
    rows: to - from,
    labels: part.labels.subarray(from, to),
    rowStart,
    indices: part.indices.subarray(base, part.rowStart[to]),
    values: part.values.subarray(base, part.rowStart[to]),
  };
}
