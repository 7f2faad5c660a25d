// `cirrus predict MODEL DATA [--out FILE] [--skip-bad] [--json]`: scores a data file with an exported
// model (a run folder's model.json, or the folder itself), prints the metrics when DATA has labels.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './usage';
import { scoreFile } from '../predict/score';
import { fmtCount } from '../util/format';

export async function predictCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, 'skip-bad': { type: 'boolean' }, json: { type: 'boolean' } } });
  if (positionals.length !== 2) throw new UsageError('predict needs MODEL (model.json or its run folder) and DATA');
  let model = path.resolve(positionals[0]);
  if (fs.existsSync(model) && fs.statSync(model).isDirectory()) model = path.join(model, 'model.json');
  const result = await scoreFile(model, path.resolve(positionals[1]), { out: values.out ? path.resolve(values.out) : undefined, skipBad: values['skip-bad'] });
  if (values.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  const metrics =
    result.rmse !== undefined
      ? `RMSE ${result.rmse.toFixed(4)}`
      : `log-loss ${result.logLoss?.toFixed(4) ?? '-'}, accuracy ${result.accuracy !== undefined ? (100 * result.accuracy).toFixed(2) + ' %' : '-'}`;
  process.stdout.write(
    `${fmtCount(result.rows)} rows scored with a ${result.model.type} model: ${metrics}` +
      (result.unknownFeatureRows ? ` (${result.unknownFeatureRows} rows had features or ids the model never saw)` : '') +
      (result.out ? `; predictions in ${result.out}` : '') +
      '\n',
  );
  return 0;
}
