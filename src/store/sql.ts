/**
 * How every store builds SQL: fixed fragments with `?` placeholders, written once for both
 * dialects, and their values. SQLite binds `?` as it is; PostgreSQL gets them numbered
 * ($1, $2, ...) by `numbered`. Only values travel as parameters; fragments are always literals
 * of this folder's code, never input.
 */

/** One condition: a SQL fragment and the values of its `?`s, in order. */
export interface Condition {
  sql: string;
  args: unknown[];
}

/** What a list query needs: the filter (also for totalCount) and the keyset position (if any). */
export interface ListConditions {
  filter: Condition[];
  after: Condition | null;
}

export const cond = (sql: string, ...args: unknown[]): Condition => ({ sql, args });

/** `WHERE a AND b ...` and its values ('' and [] when there is no condition). */
export function whereOf(conds: Condition[]): [string, unknown[]] {
  return conds.length ? [`WHERE ${conds.map((c) => c.sql).join(' AND ')}`, conds.flatMap((c) => c.args)] : ['', []];
}

/** The `?` placeholders of `sql` as PostgreSQL's $1, $2, ... (no statement of the stores has another `?`). */
export function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** A list page's query: `first + 1` rows of `from` after the list's position, in `order`. */
export function pageQuery(what: string, from: string, c: ListConditions, order: string, first: number): [string, unknown[]] {
  const [where, args] = whereOf(c.after ? [...c.filter, c.after] : c.filter);
  return [`SELECT ${what} FROM ${from} ${where} ORDER BY ${order} LIMIT ?`, [...args, first + 1]];
}

/** A list's totalCount query: rows of `from` that pass `filter`. `n` is a number on SQLite and a
 *  BIGINT string on PostgreSQL (postgres/rows.ts bigintToNumber). */
export function countQuery(from: string, filter: Condition[]): [string, unknown[]] {
  const [where, args] = whereOf(filter);
  return [`SELECT COUNT(*) AS n FROM ${from} ${where}`, args];
}
