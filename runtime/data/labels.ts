// Class labels: learned in the counting pass, then mapped to stored class ids 0..K-1.
// Binary data is stored as 0/1 whether the file spells it -1/+1 or 0/1.
import { RowError, quote } from './errors';

export const MAX_CLASSES = 1000;
/** Label words read as the positive class of a binary label. */
const POSITIVE = new Set(['yes', 'y', 'true', 't', 'clicked', 'click', 'positive', 'pos', 'converted', 'churned', 'spam']);

function numericValue(token: string): number | undefined {
  if (token === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) return undefined;
  return Number(token);
}

export class LabelSet {
  /** normalised key ('1' for '+1', '1.0' and '1') -> first spelling seen */
  private spellings = new Map<string, string>();
  private allNumeric = true;
  private classOfKey = new Map<string, number>();
  classes = 0;
  labelNames: string[] = [];

  static key(token: string): string {
    const x = numericValue(token);
    return x === undefined ? token : String(x);
  }

  /** Counting pass: remember the label (throws RowError past MAX_CLASSES distinct labels). */
  learn(token: string): void {
    const key = LabelSet.key(token);
    if (this.spellings.has(key)) return;
    if (this.spellings.size >= MAX_CLASSES) {
      throw new RowError(`label ${quote(token)} makes more than ${MAX_CLASSES} distinct labels: only classification labels are supported`);
    }
    if (numericValue(token) === undefined) this.allNumeric = false;
    this.spellings.set(key, token);
  }

  /** Fixes the class ids: -1/+1 and 0/1 become 0/1; other numeric labels are sorted by value, others by name. */
  finish(): void {
    const keys = [...this.spellings.keys()];
    const numeric = this.allNumeric && keys.length > 0;
    if (numeric && keys.every((k) => k === '-1' || k === '1')) this.setClasses(['-1', '1'], ['-1', '+1']);
    else if (numeric && keys.every((k) => k === '0' || k === '1')) this.setClasses(['0', '1'], ['0', '1']);
    else {
      keys.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
      // Two words, one of them a positive answer (yes, true, clicked ...): that one is class 1.
      if (!numeric && keys.length === 2 && POSITIVE.has(keys[0].toLowerCase()) && !POSITIVE.has(keys[1].toLowerCase())) keys.reverse();
      this.setClasses(keys, keys);
    }
  }

  private setClasses(keys: string[], defaultNames: string[]): void {
    this.classOfKey = new Map(keys.map((k, i) => [k, i]));
    this.labelNames = keys.map((k, i) => this.spellings.get(k) ?? defaultNames[i]);
    this.classes = keys.length;
  }

  /** The stored class id of a label seen in the counting pass. */
  classOf(token: string): number {
    const id = this.classOfKey.get(LabelSet.key(token));
    if (id === undefined) throw new RowError(`label ${quote(token)} was not seen in the counting pass`);
    return id;
  }
}
