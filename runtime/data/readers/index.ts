import type { DatasetFormat } from '../manifest';
import { CriteoReader } from './criteo';
import { CsvReader } from './csv';
import { LibsvmReader } from './libsvm';
import { RatingsReader } from './ratings';
import type { FormatReader, ReaderOptions } from './types';

export type { FormatReader, RatingReader, ReaderOptions, SampleReader } from './types';
export { CriteoReader, CsvReader, LibsvmReader, RatingsReader };

export function createReader(format: DatasetFormat, opts: ReaderOptions = {}): FormatReader {
  switch (format) {
    case 'criteo':
      return new CriteoReader(opts);
    case 'libsvm':
      return new LibsvmReader(opts);
    case 'csv':
      return new CsvReader(opts);
    case 'ratings':
      return new RatingsReader(opts);
    default:
      throw new Error(`unknown dataset format "${format as string}" (expected criteo, libsvm, csv or ratings)`);
  }
}
