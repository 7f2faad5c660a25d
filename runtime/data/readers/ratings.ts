// Ratings triples: MovieLens `u.data` (`user\titem\trating\ttimestamp`), ml-1m `UserID::MovieID::Rating::Timestamp`,
// or comma-separated (`userId,movieId,rating[,timestamp]`, a header line allowed). The separator is
// detected per file from its first row; the timestamp is optional and not stored. Ids are stored as given.
import { RowError, quote } from '../errors';
import type { DatasetSchema, FeatureStats } from '../manifest';
import { RunningStats } from '../stats';
import { parseNumber, type RatingReader } from './types';

const ID_RE = /^\d+$/;
const MAX_ID = 0xffffffff;

export class RatingsReader implements RatingReader {
  readonly kind = 'ratings';
  private separator: string | RegExp | undefined;
  private firstRow = true;
  private current = { user: 0, item: 0, rating: 0 };
  private maxUser = 0;
  private maxItem = 0;
  private ratingMin = Infinity;
  private ratingMax = -Infinity;
  private ratingStats = new RunningStats();

  beginFile(): void {
    this.separator = undefined;
    this.firstRow = true;
  }

  parse(line: string): boolean {
    if (line.trim().length === 0) return false;
    if (this.separator === undefined) {
      this.separator = line.includes('::') ? '::' : line.includes('\t') ? '\t' : line.includes(',') ? ',' : /\s+/;
    }
    const fields = line.trim().split(this.separator);
    const first = this.firstRow;
    this.firstRow = false;
    // A header (e.g. `userId,movieId,rating,timestamp`) on the first line of a file.
    if (first && fields.length >= 3 && !ID_RE.test(fields[0].trim()) && !/\d/.test(fields[0])) return false;
    if (fields.length !== 3 && fields.length !== 4) {
      throw new RowError(`expected user, item, rating and an optional timestamp, found ${fields.length} fields`);
    }
    const [userText, itemText, ratingText] = fields.map((f) => f.trim());
    const user = this.id(userText, 'user');
    const item = this.id(itemText, 'item');
    const rating = parseNumber(ratingText);
    if (!Number.isFinite(rating)) throw new RowError(`rating ${quote(ratingText)} is not a number`);
    if (fields.length === 4 && !Number.isFinite(parseNumber(fields[3].trim()))) throw new RowError(`timestamp ${quote(fields[3])} is not a number`);
    this.current = { user, item, rating };
    return true;
  }

  private id(text: string, what: string): number {
    if (!ID_RE.test(text)) throw new RowError(`${what} id ${quote(text)} is not a non-negative integer`);
    const id = Number(text);
    if (id > MAX_ID) throw new RowError(`${what} id ${text} is too large`);
    return id;
  }

  learn(): void {
    const { user, item, rating } = this.current;
    if (user > this.maxUser) this.maxUser = user;
    if (item > this.maxItem) this.maxItem = item;
    if (rating < this.ratingMin) this.ratingMin = rating;
    if (rating > this.ratingMax) this.ratingMax = rating;
  }

  finishLearning(): void {}

  toRating(observe: boolean): { user: number; item: number; rating: number } {
    if (observe) this.ratingStats.add(this.current.rating);
    return this.current;
  }

  schema(): DatasetSchema {
    return {
      kind: 'ratings',
      format: 'ratings',
      featureCount: 0,
      bias: false,
      classes: 0,
      maxUser: this.maxUser,
      maxItem: this.maxItem,
      ratingMin: this.ratingMin,
      ratingMax: this.ratingMax,
    };
  }

  featureStats(): FeatureStats[] {
    return [this.ratingStats.toStats('rating')];
  }
}
