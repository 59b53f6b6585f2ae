// The columns a statement's expressions can see, and how names find them.
import { SQLSTATE, SqlError } from '../errors.js';
import type { SqlType } from '../types/index.js';

export interface ScopeColumn {
  /** The table's alias (or name) this column is reachable through; null for derived columns. */
  readonly table: string | null;
  readonly name: string;
  readonly type: SqlType;
  /** Position of the value in the input row. */
  readonly slot: number;
  readonly tableOid: number;
  readonly columnNumber: number;
  /** Hidden columns (rowid) are found by name but left out of `*`. */
  readonly hidden: boolean;
  /**
   * Reachable only as `table.name` and left out of a bare `*`: a column a
   * JOIN … USING merged into one unqualified column.
   */
  readonly qualifiedOnly?: boolean;
}

export class Scope {
  constructor(
    readonly columns: readonly ScopeColumn[],
    /** The scope of an enclosing query (for correlated references). */
    readonly outer: Scope | null = null,
    /** A marker between a subquery and its enclosing query: no columns, and not a query level of its own. */
    readonly boundary = false,
  ) {}

  static empty(): Scope {
    return new Scope([]);
  }

  /** Set when a subquery inside this scope's query reads one of its enclosing queries' columns. */
  correlated = false;

  /** Set when a name resolves to one of this scope's columns (a LATERAL item reading an earlier FROM item). */
  used = false;

  /**
   * Finds `name` or `table.name` here or in an enclosing query's scope
   * (depth 0 = here). Scopes passed on the way out become correlated.
   */
  resolve(fields: readonly string[], position: number | undefined): { column: ScopeColumn; depth: number } | undefined {
    const at = position === undefined ? {} : { position };
    const name = fields[fields.length - 1] ?? '';
    const table = fields.length >= 2 ? fields[fields.length - 2] : undefined;
    let tableSeen = false;
    let depth = 0;
    const chain = this.lineage();
    for (const [level, scope] of chain.entries()) {
      const matches = scope.columns.filter((c) => c.name === name && (table === undefined ? !c.qualifiedOnly : c.table === table));
      if (matches.length > 1) throw new SqlError(SQLSTATE.AMBIGUOUS_COLUMN, `column reference "${name}" is ambiguous`, at);
      const found = matches[0];
      if (found) {
        scope.used = true;
        for (const passed of chain.slice(0, level)) passed.correlated = true;
        return { column: found, depth };
      }
      // Each boundary passed is one enclosing query further out.
      if (scope.boundary) depth++;
      if (table !== undefined && scope.columns.some((c) => c.table === table)) tableSeen = true;
    }
    if (table !== undefined && !tableSeen) {
      throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `missing FROM-clause entry for table "${table}"`, at);
    }
    return undefined;
  }

  /** This scope and the enclosing ones, innermost first. */
  lineage(): Scope[] {
    return [this, ...(this.outer ? this.outer.lineage() : [])];
  }

  /** The columns `*` or `table.*` expands to. */
  star(table: string | undefined, position: number | undefined): ScopeColumn[] {
    const cols = this.columns.filter((c) => !c.hidden && (table === undefined ? !c.qualifiedOnly : c.table === table));
    if (table !== undefined && cols.length === 0 && !this.columns.some((c) => c.table === table)) {
      throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `missing FROM-clause entry for table "${table}"`, position === undefined ? {} : { position });
    }
    if (table === undefined && this.columns.length === 0) {
      throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'SELECT * with no tables specified is not valid', position === undefined ? {} : { position });
    }
    return cols;
  }
}
