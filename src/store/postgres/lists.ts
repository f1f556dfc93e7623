/** The two queries of every paged list on PostgreSQL: a page of rows and the list's totalCount (sql.ts builds both). */
import type pg from 'pg';
import { type Condition, countQuery, type ListConditions, numbered, pageQuery } from '../sql.js';
import { query } from './pool.js';
import { bigintToNumber } from './rows.js';

/** `first + 1` rows of `from` after the list's position, in `order`. */
export async function pageRows<R extends pg.QueryResultRow>(pool: pg.Pool, what: string, from: string, c: ListConditions, order: string, first: number): Promise<R[]> {
  const [sql, args] = pageQuery(what, from, c, order, first);
  return query<R>(pool, numbered(sql), args);
}

/** Rows of `from` that pass `filter` (COUNT is a BIGINT, which node-postgres returns as a string). */
export async function countRows(pool: pg.Pool, from: string, filter: Condition[]): Promise<number> {
  const [sql, args] = countQuery(from, filter);
  return bigintToNumber((await query<{ n: string }>(pool, numbered(sql), args))[0].n);
}
