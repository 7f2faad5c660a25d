// Scoring a data file with an exported model (model.json + model.bin, docs/formats.md): the file is
// read by the same reader with the same hashing as the training data (both come from the model's
// schema), each row is scored with the model's kernel, and, when the file carries labels, the same
// metrics as the run's evaluation are computed.
import * as fs from 'node:fs';
import { loadModel, type ModelDescription } from '../driver/model-file';
import { LabelSet } from '../data/labels';
import { forEachRow } from '../data/read';
import { RatingsReader, createReader } from '../data/readers';
import { SparseRow } from '../data/rows';
import { MAX_LOG_LOSS, logLoss, sigmoid } from '../models/logistic';
import { mfPredict } from '../models/mf';

export interface ScoreOptions {
  /** Where to write one prediction a line (default: none, metrics only). */
  out?: string;
  /** Skip malformed rows instead of stopping (as deploy --skip-bad). */
  skipBad?: boolean;
  signal?: AbortSignal;
}

export interface ScoreResult {
  model: ModelDescription['model'];
  rows: number;
  /** Rows whose features or ids the model has never seen are scored with what it knows (counted here). */
  unknownFeatureRows: number;
  logLoss?: number;
  accuracy?: number;
  rmse?: number;
  out?: string;
}

export async function scoreFile(modelFile: string, dataFile: string, opts: ScoreOptions = {}): Promise<ScoreResult> {
  const { description, tables } = loadModel(modelFile);
  const { schema, model } = description;
  // The schema carries the CSV column roles and scaling of the training data: applied here the same.
  const reader = createReader(schema.format, { hashBits: schema.hashBits, labelColumn: schema.labelColumn, schema });
  if ((model.type === 'mf') !== (reader.kind === 'ratings')) throw new Error(`a ${model.type} model cannot score ${schema.format} data`);
  const out = opts.out ? fs.createWriteStream(opts.out) : undefined;
  const write = (line: string) => out?.write(line + '\n');

  // Pass 1: let the reader learn this file's labels (and CSV column kinds), as a deploy does.
  await forEachRow(reader, dataFile, 'test', { skipBad: opts.skipBad, signal: opts.signal }, () => reader.learn());
  reader.finishLearning();

  let rows = 0;
  let unknownFeatureRows = 0;
  let lossSum = 0;
  let correct = 0;
  let sqErrSum = 0;
  if (reader.kind === 'ratings') {
    const factors = model.factors ?? tables[0].length / (description.tables[0].rows || 1) - 1;
    const mean = description.extra?.globalMean;
    if (mean === undefined) throw new Error(`${modelFile} has no globalMean (exported before this version): retrain to score ratings`);
    const { ratingMin, ratingMax } = schema;
    write('user\titem\tprediction\trating');
    await forEachRow(reader, dataFile, 'test', { skipBad: opts.skipBad, signal: opts.signal }, () => {
      const r = reader.toRating(false);
      const original = reader instanceof RatingsReader ? reader.originalIds() : r; // ids as in the file
      const known = r.user < description.tables[0].rows && r.item < description.tables[1].rows;
      if (!known) unknownFeatureRows++;
      // An unseen user or item gets the global mean (its factors were never trained).
      let p = known ? mfPredict(tables[0], tables[1], r.user, r.item, factors, mean) : mean;
      if (ratingMin !== undefined && ratingMax !== undefined) p = Math.min(ratingMax, Math.max(ratingMin, p));
      sqErrSum += (p - r.rating) ** 2;
      rows++;
      write(`${original.user}\t${original.item}\t${p.toFixed(4)}\t${r.rating}`);
    });
    await closeStream(out);
    return { model, rows, unknownFeatureRows, rmse: rows ? Math.sqrt(sqErrSum / rows) : undefined, out: opts.out };
  }

  const classes = model.type === 'softmax' ? description.tables[0].width : 1;
  const classNames = schema.labelNames ?? [];
  const fileNames = reader.schema().labelNames ?? [];
  const modelClassOf = new Map(classNames.map((name, id) => [LabelSet.key(name), id]));
  // Binary labels are stored 0/1 however they are spelled (-1/+1, 0/1): map by id; otherwise by name.
  const toModelClass = (fileClass: number) => (classes <= 2 ? fileClass : modelClassOf.get(LabelSet.key(fileNames[fileClass] ?? '')));
  const weights = tables[0];
  const featureRows = description.tables[0].rows;
  const row = new SparseRow();
  const scores = new Float64Array(Math.max(2, classes));
  write(model.type === 'softmax' ? `predicted\tlabel\t${classNames.map((n) => `p(${n})`).join('\t')}` : 'probability\tlabel');
  await forEachRow(reader, dataFile, 'test', { skipBad: opts.skipBad, signal: opts.signal }, () => {
    const label = toModelClass(reader.toSample(row, false));
    let unknown = false;
    scores.fill(0);
    for (let k = 0; k < row.n; k++) {
      const f = row.idx[k];
      if (f >= featureRows) {
        unknown = true; // a feature index past the model's space (wider LIBSVM data): no weight
        continue;
      }
      for (let c = 0; c < classes; c++) scores[c] += weights[f * classes + c] * row.val[k];
    }
    if (unknown) unknownFeatureRows++;
    rows++;
    if (model.type === 'logistic') {
      const p = sigmoid(scores[0]);
      if (label !== undefined) {
        lossSum += logLoss(scores[0], label);
        if ((p >= 0.5 ? 1 : 0) === label) correct++;
      }
      write(`${p.toFixed(6)}\t${label ?? ''}`);
      return;
    }
    let max = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++) if (scores[c] > max) [max, best] = [scores[c], c];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += (scores[c] = Math.exp(scores[c] - max));
    for (let c = 0; c < classes; c++) scores[c] /= sum;
    if (label !== undefined) {
      lossSum += Math.min(-Math.log(Math.max(scores[label], 1e-15)), MAX_LOG_LOSS);
      if (best === label) correct++;
    }
    write(`${classNames[best] ?? best}\t${label !== undefined ? (classNames[label] ?? label) : ''}\t${Array.from(scores.subarray(0, classes), (p) => p.toFixed(6)).join('\t')}`);
  });
  await closeStream(out);
  return { model, rows, unknownFeatureRows, logLoss: rows ? lossSum / rows : undefined, accuracy: rows ? correct / rows : undefined, out: opts.out };
}

function closeStream(stream: fs.WriteStream | undefined): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
