// Physical plans: what a statement will do, decided before it runs. Plans
// hold descriptors of one catalog version; a plan made on an older version is
// made again (see ../session).
import type { AggregateCall } from './analyze-expr.js';
import type { Expr } from './expr.js';
import type { SetFunction } from './srf.js';
import type { WindowFunction, WindowSpec } from './window.js';
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import type { SqlType } from '../types/index.js';

/** A constraint on one index column, from the WHERE clause. */
export type ColumnConstraint =
  | { readonly kind: 'equal'; readonly values: readonly Expr[] }
  | { readonly kind: 'range'; readonly lower: Bound | null; readonly upper: Bound | null };

export interface Bound {
  readonly value: Expr;
  readonly inclusive: boolean;
}

/** Which part of an index a scan reads: constraints on a prefix of its columns (none = all). */
export interface IndexAccess {
  readonly index: IndexDescriptor;
  readonly constraints: readonly ColumnConstraint[];
  /** Every key column is pinned by equalities: the scan is a set of point reads. */
  readonly point: boolean;
}

export interface SortKey {
  readonly slot: number;
  readonly type: SqlType;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

/** Which sides of a join keep their rows when nothing matches (the other side's columns are then NULL). */
export type JoinType = 'inner' | 'left' | 'right' | 'full';

export type PlanNode =
  /** Rows computed from expressions (SELECT without FROM, VALUES). */
  | { readonly kind: 'values'; readonly rows: readonly (readonly Expr[])[] }
  /** A table's rows (all its columns, in descriptor order) through one index. */
  | { readonly kind: 'scan'; readonly table: TableDescriptor; readonly access: IndexAccess }
  | { readonly kind: 'filter'; readonly input: PlanNode; readonly predicate: Expr }
  /**
   * Puts each input row at `offset` of a row `width` wide, NULL elsewhere: in a
   * query with several FROM items every row has one slot per column of them
   * all, so expressions read the same slots before and after any join.
   */
  | { readonly kind: 'place'; readonly input: PlanNode; readonly offset: number; readonly width: number }
  /** Sets slots of each row to expressions over that row (columns JOIN … USING merges). */
  | { readonly kind: 'compute'; readonly input: PlanNode; readonly values: readonly { readonly slot: number; readonly expr: Expr }[] }
  /**
   * Pairs of left and right rows (both as wide as the query's row) whose keys
   * are equal and for which `residual` is true; the pair is the left row with
   * the right row's `rightSlots` copied in. No keys: a nested loop. The `build`
   * side is read into a hash table, the other streams past it.
   */
  | {
      readonly kind: 'join';
      readonly type: JoinType;
      readonly left: PlanNode;
      readonly right: PlanNode;
      readonly leftKeys: readonly Expr[];
      readonly rightKeys: readonly Expr[];
      /** The type both sides' key values are compared as (integers as int8, strings as text). */
      readonly keyTypes: readonly SqlType[];
      readonly residual: Expr | null;
      readonly build: 'left' | 'right';
      readonly rightSlots: readonly number[];
    }
  /**
   * A join that reads `table` through `index` for each batch of `input` rows:
   * the rows whose leading index columns equal `keys` (one per column, over
   * the input row, compared as the columns' types) are put at `offset` of a
   * copy of the input row, kept when the table's own `filter` and `residual`
   * hold. 'left' keeps an input row nothing matched (the table's slots NULL).
   */
  | {
      readonly kind: 'lookupJoin';
      readonly type: 'inner' | 'left';
      readonly input: PlanNode;
      readonly table: TableDescriptor;
      readonly index: IndexDescriptor;
      readonly keys: readonly Expr[];
      readonly offset: number;
      readonly filter: Expr | null;
      readonly residual: Expr | null;
    }
  | { readonly kind: 'project'; readonly input: PlanNode; readonly exprs: readonly Expr[] }
  /** `sets`: GROUPING SETS, each the indexes of the keys it groups by (the others are NULL in its rows); absent, one set of every key. */
  | { readonly kind: 'aggregate'; readonly input: PlanNode; readonly keys: readonly Expr[]; readonly aggregates: readonly AggregateCall[]; readonly sets?: readonly (readonly number[])[] }
  | { readonly kind: 'sort'; readonly input: PlanNode; readonly keys: readonly SortKey[] }
  /**
   * Window functions: each row is its first `width` values followed by one
   * value per function, computed over the row's partition of its window
   * (all rows are read first, as for a sort).
   */
  | { readonly kind: 'window'; readonly input: PlanNode; readonly width: number; readonly windows: readonly WindowSpec[]; readonly functions: readonly WindowFunction[] }
  | { readonly kind: 'distinct'; readonly input: PlanNode; readonly types: readonly SqlType[]; readonly width: number }
  | { readonly kind: 'limit'; readonly input: PlanNode; readonly limit: Expr | null; readonly offset: Expr | null }
  /**
   * SELECT … FOR UPDATE: locks, for each row that passes, the rows of
   * `targets` it was made of (their primary keys sit at `keySlots`), at most
   * LIMIT + OFFSET rows; under a SKIP LOCKED target a busy row is dropped.
   */
  | { readonly kind: 'lockRows'; readonly input: PlanNode; readonly targets: readonly RowLockTarget[]; readonly limit: Expr | null; readonly offset: Expr | null }
  /** Drops trailing helper columns (sort keys) from each row. */
  | { readonly kind: 'trim'; readonly input: PlanNode; readonly width: number }
  | { readonly kind: 'union'; readonly inputs: readonly PlanNode[] }
  | { readonly kind: 'setop'; readonly op: 'intersect' | 'except'; readonly all: boolean; readonly left: PlanNode; readonly right: PlanNode; readonly types: readonly SqlType[] }
  /**
   * WITH RECURSIVE: the base term's rows, then the step's rows run over the
   * previous round's new rows (its work table) until a round adds none;
   * `distinct` (UNION) drops rows seen before.
   */
  | {
      readonly kind: 'recursive';
      readonly table: WorkTable;
      readonly base: PlanNode;
      readonly step: PlanNode;
      readonly distinct: boolean;
      readonly types: readonly SqlType[];
    }
  /** The rows of the enclosing recursive node's work table. */
  | { readonly kind: 'workTable'; readonly table: WorkTable }
  /**
   * Functions in FROM (./srf.ts): one column per function, zipped (NULL past
   * a shorter one's end), then the row number when `ordinality`.
   */
  | { readonly kind: 'functionScan'; readonly functions: readonly SetFunction[]; readonly ordinality: boolean }
  /**
   * A LATERAL FROM item: `right` runs once per row of `left` with that row as
   * its innermost outer row; its rows go to slots [offset, offset + width)
   * of a copy of the left row, kept when `condition` holds. 'left' keeps a
   * left row that nothing matched (its right slots NULL).
   */
  | {
      readonly kind: 'lateral';
      readonly type: 'inner' | 'left';
      readonly left: PlanNode;
      readonly right: PlanNode;
      readonly offset: number;
      readonly width: number;
      readonly condition: Expr | null;
    }
  /** Its input's rows, computed once per statement however often the node is read (a WITH query read twice). */
  | { readonly kind: 'materialize'; readonly input: PlanNode };

/** A recursive WITH query's work table: an identity the executor keys the current rows on. */
export interface WorkTable {
  readonly name: string;
}

/** Uncorrelated subqueries run once before the statement; correlated ones per row of their enclosing query. */
export interface Subquery {
  readonly root: PlanNode;
  readonly correlated: boolean;
}

export interface OutputColumn {
  readonly name: string;
  readonly type: SqlType;
  readonly tableOid: number;
  readonly columnNumber: number;
}

/** A query's plan and the columns it produces. */
/** A table whose rows FOR UPDATE locks, and what it does when one is busy. */
export interface RowLockTarget {
  readonly table: TableDescriptor;
  readonly keySlots: readonly number[];
  readonly wait: 'wait' | 'error' | 'skip';
}

export interface QueryPlan {
  readonly root: PlanNode;
  readonly columns: readonly OutputColumn[];
  /** The statement's subqueries, by id. */
  readonly subqueries: readonly Subquery[];
  /** A subquery of this query reads this query's enclosing rows (it is itself correlated). */
  readonly correlated: boolean;
  /** FOR UPDATE at the top: its rows are all locked before the first one is sent. */
  readonly locksRows?: boolean;
}
