/**
 * The one paging policy of every list a store serves: `first` is an integer in
 * 1..MAX_PAGE_SIZE (BAD_REQUEST otherwise), a query fetches `first + 1` rows, and `page()` cuts
 * them into a Page whose extra row only says whether a next page exists. Cursors come from
 * cursor.ts. docs/api.md ("Pagination") publishes the limit.
 */
import { AppError } from '../core/errors.js';
import type { Page } from '../core/ports.js';

/** Largest page a store returns, in rows: the API's published limit; bounds memory per query. */
export const MAX_PAGE_SIZE = 1000;

/** `first` must be an integer in 1..MAX_PAGE_SIZE; returns it. */
export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new AppError('BAD_REQUEST', { reason: `first must be an integer in 1..${MAX_PAGE_SIZE}, got ${first}` });
  }
  return first;
}

/** Cuts a `first + 1` row fetch into a page: `nodes` maps the page's rows (all at once, so a
 *  caller can load what they share in one query), `cursor` gives each row's cursor. */
export function page<R, T>(rows: R[], first: number, total: number, nodes: (rows: R[]) => T[], cursor: (r: R) => string): Page<T> {
  const kept = rows.slice(0, first);
  const items = nodes(kept).map((node, i) => ({ node, cursor: cursor(kept[i]) }));
  return { items, hasNextPage: rows.length > first, endCursor: items.length ? items[items.length - 1].cursor : null, totalCount: total };
}

/** `nodes` for page() when each row maps on its own. */
export const each = <R, T>(map: (r: R) => T) => (rows: R[]): T[] => rows.map(map);
