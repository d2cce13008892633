/**
 * Declared queries: every filter the stores send goes through `indexed(spec, filter)`.
 *
 * Why a table plus a runtime check rather than `// index:` comments alone: a comment
 * cannot see a filter built at run time (cursors, `$or` per tenant), so it drifts
 * silently. Here the drift is caught three ways:
 *   1. `indexed` refuses (throws) a filter that uses a field its spec does not declare,
 *      or that skips the leading index field — every integration test exercises it;
 *   2. test/unit/index-coverage.test.ts checks every spec against INDEXES (the index
 *      exists on that collection, `prefix` is a prefix of its key, the sort is served);
 *   3. the same test parses lib/adapters/mongo/*.ts and fails on any query call whose
 *      filter is not an inline `indexed(...)` (or whose `.sort()` is not `sortOf(...)`).
 */
import type { Document, Filter, Sort } from 'mongodb';
import type { CollectionName } from './collections.js';

/** The primary-key index every collection has; `_id` lookups count as indexed. */
export const ID_INDEX = '_id_';

export interface QuerySpec {
  /** Unique, for messages: `<store>.<query>`. */
  name: string;
  collection: CollectionName;
  /** An INDEXES name on `collection`, or ID_INDEX. */
  index: string;
  /** Filter fields the index serves: a prefix of its key (equality first, then one range). */
  prefix: readonly string[];
  /** Fields checked on the documents the index scan found (tenant guards, state conditions). */
  residual?: readonly string[];
  /** `index`: the key order after the prefix serves the sort; `memory`: a bounded per-tenant set. */
  sort?: { key: Readonly<Record<string, 1 | -1>>; by: 'index' | 'memory' };
}

const registry = new Map<string, QuerySpec>();

/** Declares a store's queries (registered for the coverage test); names are `<store>.<key>`. */
export function defineQueries<K extends string>(
  store: string,
  specs: Record<K, Omit<QuerySpec, 'name'>>,
): Record<K, QuerySpec> {
  const out = {} as Record<K, QuerySpec>;
  for (const key of Object.keys(specs) as K[]) {
    const spec: QuerySpec = { name: `${store}.${key}`, ...specs[key] };
    registry.set(spec.name, spec);
    out[key] = spec;
  }
  return out;
}

/** Every query declared by the modules loaded so far. */
export function declaredQueries(): QuerySpec[] {
  return [...registry.values()];
}

/** The field sets a filter can match with: top-level fields combined with each `$or`/`$and` branch. */
export function filterAlternatives(filter: Document): string[][] {
  let alts: string[][] = [[]];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$or' || key === '$and') {
      const branches = (value as Document[]).map(filterAlternatives);
      if (key === '$or') {
        alts = alts.flatMap((a) => branches.flat().map((b) => [...a, ...b]));
      } else {
        for (const b of branches) alts = alts.flatMap((a) => b.map((x) => [...a, ...x]));
      }
    } else if (!key.startsWith('$')) {
      alts = alts.map((a) => [...a, key]);
    }
  }
  return alts;
}

/** Why `fields` do not fit `spec`, or null when they do. */
export function misfit(spec: QuerySpec, fields: readonly string[]): string | null {
  const used = new Set(fields);
  const residual = new Set(spec.residual ?? []);
  for (const f of used) {
    if (!spec.prefix.includes(f) && !residual.has(f)) return `filters on '${f}', which it does not declare`;
  }
  if (!used.has(spec.prefix[0] ?? ''))
    return `does not filter on '${spec.prefix[0]}', the leading field of ${spec.index}`;
  const n = spec.prefix.filter((f) => used.has(f)).length;
  for (let i = 1; i < n; i++) {
    if (!used.has(spec.prefix[i] ?? '')) return `skips '${spec.prefix[i]}' of ${spec.index} (not a key prefix)`;
  }
  return null;
}

/** Returns `filter` unchanged after checking it only uses what `spec` declares (a programming error otherwise). */
export function indexed<T extends Document>(spec: QuerySpec, filter: Filter<T>): Filter<T> {
  for (const alt of filterAlternatives(filter as Document)) {
    const why = misfit(spec, alt);
    if (why) throw new Error(`query ${spec.name} ${why}; update its spec or the index (lib/adapters/mongo)`);
  }
  return filter;
}

/** The declared sort of `spec`, for `.sort()`. */
export function sortOf(spec: QuerySpec): Sort {
  if (!spec.sort) throw new Error(`query ${spec.name} declares no sort`);
  return spec.sort.key as Sort;
}
