// What the user says about a run after the fact: a display name and tags (the runs table's Rename and
// Tags). Kept in the run folder's meta.json, apart from config.json and metrics.jsonl, which record what
// the run was and are never rewritten.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './run-folder';

export const META_FILE = 'meta.json';

export interface RunMeta {
  /** Shown instead of the run's own name. */
  displayName?: string;
  tags: string[];
}

const MAX_NAME = 120;
const MAX_TAG = 40;
const MAX_TAGS = 20;

/** The run's meta.json; an absent file is no meta. A file that cannot be read as meta throws, naming it. */
export function readRunMeta(runFolder: string): RunMeta {
  const file = path.join(runFolder, META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { tags: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const o = json as { displayName?: unknown; tags?: unknown } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${file}: expected an object with displayName and tags`);
  if (o.displayName !== undefined && typeof o.displayName !== 'string') throw new Error(`${file}: displayName must be a string`);
  if (o.tags !== undefined && (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string'))) throw new Error(`${file}: tags must be a list of strings`);
  return { ...(o.displayName ? { displayName: o.displayName } : {}), tags: (o.tags as string[] | undefined) ?? [] };
}

/** Tags as the user typed them, cleaned: trimmed, no empties or repeats; throws on one too long or too many. */
export function cleanTags(tags: string[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  const long = out.find((t) => t.length > MAX_TAG);
  if (long) throw new Error(`tag "${long.slice(0, 20)}…" is longer than ${MAX_TAG} characters`);
  if (out.length > MAX_TAGS) throw new Error(`a run takes at most ${MAX_TAGS} tags (${out.length} given)`);
  return out;
}

/**
 * Renames (`displayName`: a string; '' or null goes back to the run's own name) and/or re-tags a run.
 * Refuses, without writing, a run folder that does not exist or whose meta.json is unreadable (the
 * user's earlier tags would be lost).
 */
export function updateRunMeta(runFolder: string, change: { displayName?: string | null; tags?: string[] }): RunMeta {
  if (!fs.existsSync(path.join(runFolder))) throw new Error(`no run folder at ${runFolder}`);
  const meta = readRunMeta(runFolder);
  if (change.displayName !== undefined) {
    const name = (change.displayName ?? '').trim();
    if (name.length > MAX_NAME) throw new Error(`a run name takes at most ${MAX_NAME} characters (${name.length} given)`);
    if (name) meta.displayName = name;
    else delete meta.displayName;
  }
  if (change.tags !== undefined) meta.tags = cleanTags(change.tags);
  writeFileAtomic(path.join(runFolder, META_FILE), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}
