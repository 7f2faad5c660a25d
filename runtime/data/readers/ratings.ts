// Ratings triples: MovieLens `u.data` (`user\titem\trating\ttimestamp`), ml-1m `UserID::MovieID::Rating::Timestamp`,
// or comma-separated (`userId,movieId,rating[,timestamp]`, a header line allowed). The separator is
// detected per file from its first row; the timestamp is optional and not stored. Ids are stored as
// given when they are dense (MovieLens: 1..n); sparse ids (the largest more than twice the number of
// distinct ids plus 10,000, e.g. hashes or database keys) are re-indexed 0..n-1 in order of first appearance, and
// the original ids are kept in the schema (userIds, itemIds), so a model's tables stay small and
// `cirrus predict` takes the original ids.
import { RowError, quote } from '../errors';
import type { DatasetSchema, FeatureStats } from '../manifest';
import { RunningStats } from '../stats';
import { parseNumber, type RatingReader, type ReaderOptions } from './types';

/** Ids are re-indexed when the largest is more than this many times the number of distinct ones. */
const SPARSE_IDS = 2;
const SPARSE_SLACK = 10_000;

/** Original ids <-> dense indices of users or items. */
class IdIndex {
  private readonly index = new Map<number, number>();
  ids: number[] = [];
  max = 0;
  reindexed = false;

  constructor(stored?: number[]) {
    if (stored) {
      this.ids = stored;
      stored.forEach((id, i) => this.index.set(id, i));
      this.reindexed = true;
    }
  }

  learn(id: number): void {
    if (id > this.max) this.max = id;
    if (!this.index.has(id)) {
      this.index.set(id, this.ids.length);
      this.ids.push(id);
    }
  }

  finish(): void {
    // Small tables are left as they are: re-index only when it saves more than SPARSE_SLACK rows.
    this.reindexed = this.max + 1 > SPARSE_IDS * this.ids.length + SPARSE_SLACK;
  }

  /** The stored index of an id (an id never seen: past every index, so it has no trained row). */
  of(id: number): number {
    if (!this.reindexed) return id;
    return this.index.get(id) ?? MAX_ID;
  }

  get maxStored(): number {
    return this.reindexed ? this.ids.length - 1 : this.max;
  }
}

const ID_RE = /^\d+$/;
const MAX_ID = 0xffffffff;

export class RatingsReader implements RatingReader {
  readonly kind = 'ratings';
  private separator: string | RegExp | undefined;
  private firstRow = true;
  private current = { user: 0, item: 0, rating: 0 };
  private readonly stored = { user: 0, item: 0, rating: 0 };
  private readonly users: IdIndex;
  private readonly items: IdIndex;
  private readonly fixed: boolean; // predict: the ids of the deployed dataset
  private ratingMin = Infinity;
  private ratingMax = -Infinity;
  private ratingStats = new RunningStats();

  constructor(opts: ReaderOptions = {}) {
    this.fixed = opts.schema !== undefined;
    this.users = new IdIndex(opts.schema?.userIds);
    this.items = new IdIndex(opts.schema?.itemIds);
    if (opts.schema) {
      this.users.max = opts.schema.maxUser ?? 0;
      this.items.max = opts.schema.maxItem ?? 0;
    }
  }

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
    if (!this.fixed) {
      this.users.learn(user);
      this.items.learn(item);
    }
    if (rating < this.ratingMin) this.ratingMin = rating;
    if (rating > this.ratingMax) this.ratingMax = rating;
  }

  finishLearning(): void {
    if (this.fixed) return;
    this.users.finish();
    this.items.finish();
  }

  /** The row as stored: ids re-indexed when they are sparse. */
  toRating(observe: boolean): { user: number; item: number; rating: number } {
    if (observe) this.ratingStats.add(this.current.rating);
    const { user, item, rating } = this.current;
    this.stored.user = this.users.of(user);
    this.stored.item = this.items.of(item);
    this.stored.rating = rating;
    return this.stored;
  }

  /** The original ids of the row just read (predict writes these). */
  originalIds(): { user: number; item: number } {
    return { user: this.current.user, item: this.current.item };
  }

  schema(): DatasetSchema {
    return {
      kind: 'ratings',
      format: 'ratings',
      featureCount: 0,
      bias: false,
      classes: 0,
      maxUser: this.users.maxStored,
      maxItem: this.items.maxStored,
      ...(this.users.reindexed ? { userIds: this.users.ids } : {}),
      ...(this.items.reindexed ? { itemIds: this.items.ids } : {}),
      ratingMin: this.ratingMin,
      ratingMax: this.ratingMax,
    };
  }

  featureStats(): FeatureStats[] {
    return [this.ratingStats.toStats('rating')];
  }
}
