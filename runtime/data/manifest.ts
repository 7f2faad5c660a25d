// The dataset manifest: `<prefix>/manifest.json`, written LAST by a deploy, so a prefix without a
// manifest is never taken for a dataset. Documented in docs/formats.md.

export type DatasetFormat = 'criteo' | 'libsvm' | 'csv' | 'ratings';

export const MANIFEST_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';

export interface PartitionEntry {
  key: string; // full S3 key of the partition object
  rows: number;
  nnz: number; // 0 for ratings
  bytes: number;
  crc32: number; // the CRC-32 stored in the partition header
}

export interface FeatureStats {
  name: string; // column name (csv/criteo) or feature index (libsvm)
  /** categorical: only count and missing are meaningful (min, max, mean and variance are 0). Absent: numeric. */
  kind?: 'numeric' | 'categorical';
  count: number; // rows where the value is present
  missing: number;
  min: number;
  max: number;
  mean: number;
  variance: number; // population variance
}

/** How a CSV column is read (decided in the counting pass, or set by `dataset.columns`). */
export interface SchemaColumn {
  name: string;
  kind: 'numeric' | 'categorical' | 'timestamp' | 'ignored';
  index?: number; // numeric: the feature index
  /** numeric: applied to every value, training, evaluation and predict alike (absent: the raw value). */
  transform?: ColumnTransform;
}

export type ColumnTransform = { type: 'standardize'; mean: number; std: number } | { type: 'log1p' };

/** What a CSV deploy decided for each column and why: shown by the deploy summary. */
export type ColumnRole = 'label' | 'numeric' | 'categorical' | 'id' | 'constant' | 'timestamp' | 'ignored';

export interface ColumnReport {
  name: string;
  role: ColumnRole;
  reason: string;
  /** Distinct values (a HyperLogLog estimate above 64: about 1.6 % error). */
  distinct: number;
  missingShare: number;
  /** Numeric columns: the range of the values. */
  min?: number;
  max?: number;
  /** numeric: 'standardize', 'log1p' or 'none'. */
  scaling?: string;
  /** timestamp: expanded into hour-of-day and day-of-week (else ignored). */
  expanded?: boolean;
}

export interface DatasetSchema {
  kind: 'samples' | 'ratings';
  format: DatasetFormat;
  /** Feature-space size: 2^hashBits when hashed, else max index + 1 (index 0 is the bias). */
  featureCount: number;
  hashBits?: number;
  bias: boolean; // feature 0 is a constant 1
  integerTransform?: 'log1p' | 'none'; // criteo integer counts
  labelColumn?: string; // csv
  /** csv: every non-label column, in file order: numeric ones at feature `index` (after `transform`),
   *  categorical ones hashed, timestamps expanded into hashed hour-of-day and day-of-week, ignored ones skipped. */
  columns?: SchemaColumn[];
  /** csv: the field separator detected from the header (absent: ','). */
  delimiter?: string;
  /** Labels are stored as 0/1 for binary data; for multiclass as 0..classes-1. */
  classes: number;
  labelNames?: string[]; // original label spellings by stored class id
  /** ratings: the largest user and item ids seen (ids are stored as given, 1-based in MovieLens). */
  maxUser?: number;
  maxItem?: number;
  /** ratings with sparse ids: the original id of each stored user / item index (absent: ids stored as given). */
  userIds?: number[];
  itemIds?: number[];
  ratingMin?: number;
  ratingMax?: number;
}

export interface DatasetManifest {
  manifestVersion: number;
  createdAt: string;
  source: { file: string; bytes: number; sha256: string; testFile?: string; testSha256?: string };
  schema: DatasetSchema;
  split: { method: 'last-fraction' | 'test-file'; testFraction?: number };
  partitions: { train: PartitionEntry[]; test: PartitionEntry[] };
  counts: { rows: number; trainRows: number; testRows: number; skippedRows: number; bytes: number };
  /** First bad rows skipped under --skip-bad (at most 100 listed), as `file:line: reason`. */
  skipped: string[];
  featureStats: FeatureStats[];
  /** csv: every column's role, with the reason and what the counting pass saw. */
  columns?: ColumnReport[];
}
