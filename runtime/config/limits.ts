// The ranges of the run configuration's numbers, read from the JSON schema (their one home), for the
// places that check a number outside a config file: CLI flags, the parameter server's own checks.
import schema from '../../schemas/run-config.schema.json';

export interface Range {
  min: number;
  max: number;
  /** Whether min itself is excluded (JSON schema's exclusiveMinimum). */
  exclusiveMin: boolean;
  exclusiveMax: boolean;
  integer: boolean;
}

type SchemaNode = { type?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number; properties?: Record<string, SchemaNode>; oneOf?: SchemaNode[] };

/** The range of a number in the run config, e.g. limit('model.hashBits'). */
export function limit(field: string): Range {
  let node: SchemaNode | undefined = schema as SchemaNode;
  for (const key of field.split('.')) node = node?.properties?.[key];
  // A number that may also be a word (lambda.memoryMB: 128-10,240 or "auto"): its numeric branch.
  node = node?.oneOf?.find((n) => n.type === 'number' || n.type === 'integer') ?? node;
  if (!node || (node.type !== 'number' && node.type !== 'integer')) throw new Error(`${field} is not a number in the run-config schema`);
  return {
    min: node.exclusiveMinimum ?? node.minimum ?? -Infinity,
    max: node.exclusiveMaximum ?? node.maximum ?? Infinity,
    exclusiveMin: node.exclusiveMinimum !== undefined,
    exclusiveMax: node.exclusiveMaximum !== undefined,
    integer: node.type === 'integer',
  };
}

/** Whether `value` lies in `range`. */
export function inRange(value: number, range: Range): boolean {
  if (!Number.isFinite(value) || (range.integer && !Number.isInteger(value))) return false;
  return (range.exclusiveMin ? value > range.min : value >= range.min) && (range.exclusiveMax ? value < range.max : value <= range.max);
}

/** "an integer from 4 to 26", "a number > 0": for messages. */
export function describeRange(range: Range): string {
  const kind = range.integer ? 'an integer' : 'a number';
  if (range.max === Infinity) return `${kind} ${range.exclusiveMin ? '>' : '>='} ${range.min}`;
  if (!range.exclusiveMin && !range.exclusiveMax) return `${kind} from ${range.min} to ${range.max}`;
  return `${kind} ${range.exclusiveMin ? '>' : '>='} ${range.min} and ${range.exclusiveMax ? '<' : '<='} ${range.max}`;
}
