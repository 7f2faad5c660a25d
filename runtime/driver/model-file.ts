// The exported model (documented in docs/formats.md): `model.json` (what the model is, how its input is
// read and hashed, where each table lies in model.bin) and `model.bin` (the tables' float32 values,
// little-endian, one after another).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedRunConfig } from '../config/run-config';
import type { DatasetManifest, DatasetSchema } from '../data/manifest';
import type { TableSpec } from '../ps/types';
import { writeFileAtomic } from '../recording/run-folder';

export const MODEL_FORMAT = 'cirrus-model';
export const MODEL_VERSION = 1;

export interface ModelDescription {
  format: typeof MODEL_FORMAT;
  version: number;
  model: ResolvedRunConfig['model'];
  schema: DatasetSchema; // the dataset's reading and hashing rules: predict reads new data the same way
  tables: Array<{ name: string; rows: number; width: number; offset: number }>; // byte offsets in model.bin
  extra?: Record<string, number>;
}

export function saveModel(dir: string, config: ResolvedRunConfig, manifest: DatasetManifest, tables: TableSpec[], weights: Float32Array[], extra?: Record<string, number>): string {
  let offset = 0;
  const layout = tables.map((table, i) => {
    const entry = { name: table.name, rows: table.rows, width: table.width, offset };
    offset += weights[i].byteLength;
    return entry;
  });
  const bin = Buffer.alloc(offset);
  weights.forEach((w, i) => bin.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), layout[i].offset));
  writeFileAtomic(path.join(dir, 'model.bin'), bin);
  // MF predicts around the training set's mean rating: scoring a file needs it (cirrus predict).
  const mean = config.model.type === 'mf' ? manifest.featureStats.find((s) => s.name === 'rating')?.mean : undefined;
  if (mean !== undefined) extra = { globalMean: mean, ...extra };
  const description: ModelDescription = { format: MODEL_FORMAT, version: MODEL_VERSION, model: config.model, schema: manifest.schema, tables: layout, extra };
  const file = path.join(dir, 'model.json');
  writeFileAtomic(file, JSON.stringify(description, null, 2) + '\n');
  return file;
}

export function loadModel(file: string): { description: ModelDescription; tables: Float32Array[] } {
  const description = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelDescription;
  if (description.format !== MODEL_FORMAT) throw new Error(`${file}: not a Cirrus model (format "${description.format}")`);
  if (description.version !== MODEL_VERSION) throw new Error(`${file}: model version ${description.version} is not supported (this build reads ${MODEL_VERSION})`);
  const bin = fs.readFileSync(path.join(path.dirname(file), 'model.bin'));
  const tables = description.tables.map((t) => {
    const bytes = t.rows * t.width * 4;
    if (t.offset + bytes > bin.byteLength) throw new Error(`${file}: model.bin is truncated (table ${t.name})`);
    return new Float32Array(bin.buffer.slice(bin.byteOffset + t.offset, bin.byteOffset + t.offset + bytes));
  });
  return { description, tables };
}
