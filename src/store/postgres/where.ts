/**
 * A WHERE clause built from fixed SQL fragments with `?` placeholders, numbered into
 * PostgreSQL's $1, $2 ... as they are added. Only values travel as parameters; fragments are
 * always literals of this folder's code, never input.
 */
export class Where {
  private readonly parts: string[] = [];
  readonly params: unknown[] = [];

  /** Adds `fragment`, whose `?`s take `values` in order. */
  add(fragment: string, ...values: unknown[]): this {
    let i = 0;
    const numbered = fragment.replace(/\?/g, () => {
      if (i >= values.length) throw new Error(`fragment "${fragment}" has more placeholders than values`);
      this.params.push(values[i++]);
      return `$${this.params.length}`;
    });
    if (i !== values.length) throw new Error(`fragment "${fragment}" has fewer placeholders than values`);
    this.parts.push(numbered);
    return this;
  }

  /** `column = value`. */
  eq(column: string, value: unknown): this {
    return this.add(`${column} = ?`, value);
  }

  /** `column = value` when value is defined; nothing otherwise. */
  eqIf(column: string, value: unknown): this {
    return value === undefined ? this : this.eq(column, value);
  }

  sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}
