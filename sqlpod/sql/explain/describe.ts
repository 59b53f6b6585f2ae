// Plans as EXPLAIN shows them: the executor's nodes in PostgreSQL's words,
// with the key spans each scan reads for this execution's parameters (the
// executor's own ../exec/spans.ts computes them). Nodes that only reshape
// rows (place, compute, project, trim) show as the node below them, and a
// filter as a "Filter:" line of the node it filters, as in PostgreSQL.
import type { TypeSource } from '../catalog/catalog.js';
import type { Keyspace } from '../catalog/keyspace.js';
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { codecFor } from '../exec/run.js';
import { accessKeys } from '../exec/spans.js';
import type { AggregateCall } from '../plan/analyze-expr.js';
import type { WritePlan } from '../plan/dml.js';
import type { EvalContext, Expr } from '../plan/expr.js';
import type { ColumnConstraint, IndexAccess, PlanNode, Subquery, WorkTable } from '../plan/plan.js';
import { windowExprs, type WindowFunction } from '../plan/window.js';
import { formatText, type Datum } from '../types/index.js';
import type { NodeStats } from './analyze.js';
import { exprText, literal, subqueriesIn, type Names } from './expr.js';
import type { Actual, ExplainNode, Subplan } from './format.js';

export interface DescribeOptions {
  readonly verbose: boolean;
  /** ANALYZE: what each node did (nodes that never ran are absent). */
  readonly stats: ReadonlyMap<PlanNode, NodeStats> | null;
  readonly subqueries: readonly Subquery[];
  readonly ks: Keyspace;
  readonly types: TypeSource;
  /** This execution's parameters, for the spans. */
  readonly eval: EvalContext;
}

const MAX_SPANS_SHOWN = 20;

interface Shown {
  title: string;
  output: string[] | null;
  details: string[];
  actual?: Actual | null;
  children: Shown[];
  subplans: Subplan[];
}

interface Described {
  readonly shown: Shown;
  /** What the node's output slots are called (by the expressions above it). */
  readonly names: readonly string[];
}

export function describeQuery(root: PlanNode, options: DescribeOptions): ExplainNode {
  const d = new Describer(options, [root]);
  const top = d.node(root, []).shown;
  d.remainingSubplans(top);
  return top;
}

export function describeWrite(plan: WritePlan, options: DescribeOptions, actual: Actual | undefined): ExplainNode {
  const d = new Describer(options, [plan.source]);
  const source = d.node(plan.source, []);
  const verb = plan.kind === 'insert' ? 'Insert' : plan.kind === 'update' ? 'Update' : 'Delete';
  const top: Shown = { title: `${verb} on ${plan.table.name}`, output: null, details: [], children: [source.shown], subplans: [] };
  if (actual !== undefined) top.actual = actual;
  const tableNames = plan.table.columns.map((c) => d.column(plan.table, c.name));
  if (plan.returning && options.verbose) top.output = plan.returning.exprs.map((e) => d.expr(e, tableNames, [], top));
  if (plan.kind === 'insert' && plan.onConflict) {
    const c = plan.onConflict;
    top.details.push(`Conflict Resolution: ${c.action.toUpperCase()}`);
    if (c.arbiters.length) top.details.push(`Conflict Arbiter Indexes: ${c.arbiters.map((a) => a.name).join(', ')}`);
    // ON CONFLICT's expressions read the existing row followed by the row proposed for insertion.
    const excluded = plan.table.columns.map((col) => `excluded.${col.name}`);
    if (c.action === 'update' && c.where) top.details.push(`Conflict Filter: ${d.expr(c.where, [...tableNames, ...excluded], [], top)}`);
  }
  d.remainingSubplans(top);
  return top;
}

class Describer {
  private readonly qualify: boolean;
  private readonly shownSubqueries = new Set<number>();
  private readonly names = new Map<PlanNode, readonly string[]>();
  private readonly workTables = new Map<WorkTable, readonly string[]>();

  constructor(
    private readonly options: DescribeOptions,
    roots: readonly PlanNode[],
  ) {
    // As PostgreSQL: columns are qualified with their table once the statement reads more than one.
    const tables = new Set<TableDescriptor>();
    const visit = (n: PlanNode): void => {
      if (n.kind === 'scan' || n.kind === 'lookupJoin') tables.add(n.table);
      inputs(n).forEach(visit);
    };
    [...roots, ...options.subqueries.map((s) => s.root)].forEach(visit);
    this.qualify = tables.size > 1;
  }

  column(table: TableDescriptor, name: string): string {
    return this.qualify ? `${table.name}.${name}` : name;
  }

  /** An expression's text; subqueries it uses are shown under `at`, with `row` as their outer row. */
  expr(e: Expr, row: readonly string[], outer: readonly (readonly string[])[], at: Shown): string {
    for (const id of subqueriesIn(e)) {
      if (this.shownSubqueries.has(id)) continue;
      const sub = this.options.subqueries[id];
      if (!sub) continue;
      this.shownSubqueries.add(id);
      const plan = this.node(sub.root, sub.correlated ? [row, ...outer] : []).shown;
      at.subplans.push({ label: label(id, sub), initPlan: !sub.correlated, plan });
    }
    const names: Names = { row, outer, subplan: (id) => label(id, this.options.subqueries[id]) };
    return exprText(e, names);
  }

  /** Subqueries no node showed (those of INSERT values, UPDATE SET, RETURNING) go under the top node. */
  remainingSubplans(top: Shown): void {
    for (const [id, sub] of this.options.subqueries.entries()) {
      if (this.shownSubqueries.has(id)) continue;
      this.shownSubqueries.add(id);
      top.subplans.push({ label: label(id, sub), initPlan: !sub.correlated, plan: this.node(sub.root, []).shown });
    }
  }

  node(node: PlanNode, outer: readonly (readonly string[])[]): Described {
    const d = this.describe(node, outer);
    this.names.set(node, d.names);
    return d;
  }

  private leaf(node: PlanNode, title: string, names: readonly string[]): Described {
    return { shown: this.shown(node, title, names, []), names };
  }

  private shown(node: PlanNode, title: string, names: readonly string[], children: Shown[]): Shown {
    const s: Shown = { title, output: this.options.verbose ? [...names] : null, details: [], children, subplans: [] };
    if (this.options.stats) s.actual = actualOf(this.options.stats.get(node));
    return s;
  }

  private describe(node: PlanNode, outer: readonly (readonly string[])[]): Described {
    const x = (e: Expr, row: readonly string[], at: Shown): string => this.expr(e, row, outer, at);
    switch (node.kind) {
      case 'values': {
        const names = (node.rows[0] ?? []).map((_, i) => `column${i + 1}`);
        const d = this.leaf(node, node.rows.length === 1 ? 'Result' : 'Values Scan on "*VALUES*"', names);
        node.rows.flat().forEach((e) => x(e, [], d.shown));
        return d;
      }
      case 'scan':
        return this.scan(node);
      case 'filter': {
        const input = this.node(node.input, outer);
        const shown = input.shown;
        shown.details.push(`Filter: ${x(node.predicate, input.names, shown)}`);
        if (this.options.stats) {
          const before = shown.actual;
          shown.actual = actualOf(this.options.stats.get(node));
          if (before && shown.actual) shown.details.push(`Rows Removed by Filter: ${Math.round((before.rows - shown.actual.rows) / before.loops)}`);
        }
        return { shown, names: input.names };
      }
      case 'place': {
        const input = this.node(node.input, outer);
        const names = new Array<string>(node.width).fill('NULL');
        input.names.forEach((n, i) => (names[node.offset + i] = n));
        return { shown: input.shown, names };
      }
      case 'compute': {
        const input = this.node(node.input, outer);
        const names = [...input.names];
        for (const v of node.values) names[v.slot] = x(v.expr, input.names, input.shown);
        return { shown: input.shown, names };
      }
      case 'project': {
        const input = this.node(node.input, outer);
        const names = node.exprs.map((e) => x(e, input.names, input.shown));
        if (input.shown.output) input.shown.output = names;
        return { shown: input.shown, names };
      }
      case 'trim': {
        const input = this.node(node.input, outer);
        return { shown: input.shown, names: input.names.slice(0, node.width) };
      }
      case 'join':
        return this.join(node, outer);
      case 'lookupJoin':
        return this.lookupJoin(node, outer);
      case 'aggregate': {
        const input = this.node(node.input, outer);
        const sets = node.sets;
        // PostgreSQL's hashed grouping sets: MixedAggregate when one set is () (grouped without hashing).
        const kind = sets ? (sets.some((s) => s.length === 0) ? 'MixedAggregate' : 'HashAggregate') : node.keys.length ? 'HashAggregate' : 'Aggregate';
        const shown = this.shown(node, kind, [], [input.shown]);
        const keys = node.keys.map((k) => x(k, input.names, shown));
        const names = [...keys, ...node.aggregates.map((a) => aggregateText(a, (e) => x(e, input.names, shown), keys))];
        if (sets) for (const s of sets) shown.details.push(s.length ? `Hash Key: ${s.map((k) => keys[k]).join(', ')}` : 'Group Key: ()');
        else if (keys.length) shown.details.push(`Group Key: ${keys.join(', ')}`);
        if (shown.output) shown.output = names;
        return { shown, names };
      }
      case 'sort': {
        const input = this.node(node.input, outer);
        const shown = this.shown(node, 'Sort', input.names, [input.shown]);
        const keys = node.keys.map((k) => {
          const name = input.names[k.slot] ?? `column${k.slot + 1}`;
          const nulls = k.nullsFirst === k.descending ? '' : k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
          return `${name}${k.descending ? ' DESC' : ''}${nulls}`;
        });
        shown.details.push(`Sort Key: ${keys.join(', ')}`);
        return { shown, names: input.names };
      }
      case 'window': {
        const input = this.node(node.input, outer);
        const shown = this.shown(node, 'WindowAgg', [], [input.shown]);
        windowExprs(node.windows, node.functions).forEach((e) => x(e, input.names, shown));
        const names = [...input.names.slice(0, node.width), ...node.functions.map((f) => windowText(f, (e) => x(e, input.names, shown)))];
        if (shown.output) shown.output = names;
        return { shown, names };
      }
      case 'distinct': {
        const input = this.node(node.input, outer);
        const shown = this.shown(node, 'HashAggregate', input.names, [input.shown]);
        shown.details.push(`Group Key: ${input.names.slice(0, node.width).join(', ')}`);
        return { shown, names: input.names };
      }
      case 'limit': {
        const input = this.node(node.input, outer);
        const shown = this.shown(node, 'Limit', input.names, [input.shown]);
        if (this.options.verbose) {
          if (node.limit) shown.details.push(`Limit: ${x(node.limit, [], shown)}`);
          if (node.offset) shown.details.push(`Offset: ${x(node.offset, [], shown)}`);
        }
        return { shown, names: input.names };
      }
      case 'lockRows': {
        const input = this.node(node.input, outer);
        return { shown: this.shown(node, 'LockRows', input.names, [input.shown]), names: input.names };
      }
      case 'union': {
        const inputs = node.inputs.map((i) => this.node(i, outer));
        const names = inputs[0]?.names ?? [];
        return { shown: this.shown(node, 'Append', names, inputs.map((i) => i.shown)), names };
      }
      case 'setop': {
        const left = this.node(node.left, outer);
        const right = this.node(node.right, outer);
        const title = `HashSetOp ${node.op === 'intersect' ? 'Intersect' : 'Except'}${node.all ? ' All' : ''}`;
        return { shown: this.shown(node, title, left.names, [left.shown, right.shown]), names: left.names };
      }
      case 'recursive': {
        const base = this.node(node.base, outer);
        this.workTables.set(node.table, base.names);
        const step = this.node(node.step, outer);
        return { shown: this.shown(node, 'Recursive Union', base.names, [base.shown, step.shown]), names: base.names };
      }
      case 'workTable':
        return this.leaf(node, `WorkTable Scan on ${node.table.name}`, this.workTables.get(node.table) ?? []);
      case 'functionScan': {
        const fnames = node.functions.map((f) => (f.kind === 'series' ? 'generate_series' : 'unnest'));
        const names = node.ordinality ? [...fnames, 'ordinality'] : fnames;
        const d = this.leaf(node, `Function Scan on ${fnames.join(', ')}`, names);
        const args = node.functions.map((f) => (f.kind === 'series' ? [f.start, f.stop, ...(f.step ? [f.step] : [])] : f.kind === 'elements' ? [f.array] : f.values));
        d.shown.details.push(`Functions: ${node.functions.map((f, i) => `${fnames[i] ?? ''}(${(args[i] ?? []).map((e) => x(e, [], d.shown)).join(', ')})`).join(', ')}`);
        return d;
      }
      case 'lateral': {
        const left = this.node(node.left, outer);
        const right = this.node(node.right, [left.names, ...outer]);
        const names = [...left.names];
        right.names.slice(0, node.width).forEach((n, i) => (names[node.offset + i] = n));
        const shown = this.shown(node, node.type === 'left' ? 'Nested Loop Left Join' : 'Nested Loop', names, [left.shown, right.shown]);
        if (node.condition) shown.details.push(`Join Filter: ${x(node.condition, names, shown)}`);
        return { shown, names };
      }
      case 'materialize': {
        const seen = this.names.get(node);
        if (seen) return this.leaf(node, 'CTE Scan (rows of the Materialize above)', seen);
        const input = this.node(node.input, outer);
        return { shown: this.shown(node, 'Materialize', input.names, [input.shown]), names: input.names };
      }
    }
  }

  private scan(node: Extract<PlanNode, { kind: 'scan' }>): Described {
    const { table, access } = node;
    const names = table.columns.map((c) => this.column(table, c.name));
    const title = access.constraints.length === 0 ? `Seq Scan on ${table.name}` : `Index Scan using ${access.index.name} on ${table.name}`;
    const d = this.leaf(node, title, names);
    if (access.constraints.length) d.shown.details.push(`Index Cond: ${this.indexCondition(table, access, d.shown)}`);
    d.shown.details.push(`Spans: ${this.spans(table, access)}`);
    const kv = this.options.stats?.get(node)?.kv;
    if (kv) d.shown.details.push(`KV Reads: round trips=${kv.roundTrips} rows=${kv.rows}`);
    return d;
  }

  /** CockroachDB's words: the index read per input batch, and the equalities it is keyed by. */
  private lookupJoin(node: Extract<PlanNode, { kind: 'lookupJoin' }>, outer: readonly (readonly string[])[]): Described {
    const { table, index } = node;
    const input = this.node(node.input, outer);
    const names = [...input.names];
    table.columns.forEach((c, i) => (names[node.offset + i] = this.column(table, c.name)));
    const shown = this.shown(node, `Lookup${node.type === 'left' ? ' Left' : ''} Join on ${table.name} using ${index.name}`, names, [input.shown]);
    const conds = node.keys.map((k, i) => `(${this.column(table, columnName(table, index, i))} = ${this.expr(k, input.names, outer, shown)})`);
    shown.details.push(`Lookup Cond: ${conds.length === 1 ? conds[0] : `(${conds.join(' AND ')})`}`);
    if (node.filter) shown.details.push(`Filter: ${this.expr(node.filter, names, outer, shown)}`);
    if (node.residual) shown.details.push(`Join Filter: ${this.expr(node.residual, names, outer, shown)}`);
    const kv = this.options.stats?.get(node)?.kv;
    if (kv) shown.details.push(`KV Reads: round trips=${kv.roundTrips} rows=${kv.rows}`);
    return { shown, names };
  }

  private indexCondition(table: TableDescriptor, access: IndexAccess, at: Shown): string {
    const parts = access.constraints.flatMap((c, i) => {
      const column = this.column(table, columnName(table, access.index, i));
      return constraintParts(c).map(([op, e]) => (op === 'in' ? `(${column} = ANY (ARRAY[${e.map((v) => this.expr(v, [], [], at)).join(', ')}]))` : `(${column} ${op} ${this.expr(e[0] as Expr, [], [], at)})`));
    });
    return parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(' AND ')})`;
  }

  /** The spans the scan reads for this execution, as index column values: `[/1 - /5)`. */
  private spans(table: TableDescriptor, access: IndexAccess): string {
    const codec = codecFor(this.options.ks, this.options.types, table);
    const keys = accessKeys(codec, access, this.options.eval);
    const types = access.index.columnIds.map((id) => codec.types[codec.slot(id)]);
    const key = (values: readonly Datum[]): string =>
      values.map((v, i) => {
        const type = types[i];
        if (v === null || !type) return '/NULL';
        return `/${typeof v === 'string' ? literal(type, v).replace(/::.*$/, '') : formatText(type, v)}`;
      }).join('');
    if (keys.kind === 'spans' && keys.bounds.length === 1 && keys.bounds[0]?.start.values.length === 0 && keys.bounds[0].end.values.length === 0) return 'FULL SCAN';
    const spans =
      keys.kind === 'points'
        ? keys.values.map((v) => `[${key(v)} - ${key(v)}]`)
        : keys.bounds.map((b) => `${b.start.inclusive ? '[' : '('}${key(b.start.values)} - ${key(b.end.values)}${b.end.inclusive ? ']' : ')'}`);
    if (spans.length === 0) return 'none';
    // A long IN list reads thousands of spans; the first ones show their shape.
    const more = spans.length - MAX_SPANS_SHOWN;
    return more > 0 ? `${spans.slice(0, MAX_SPANS_SHOWN).join(', ')}, … ${more} more` : spans.join(', ');
  }

  private join(node: Extract<PlanNode, { kind: 'join' }>, outer: readonly (readonly string[])[]): Described {
    const left = this.node(node.left, outer);
    const right = this.node(node.right, outer);
    const names = [...left.names];
    for (const s of node.rightSlots) names[s] = right.names[s] ?? names[s] ?? 'NULL';
    const kind = node.type === 'inner' ? '' : ` ${node.type[0]?.toUpperCase() ?? ''}${node.type.slice(1)}`;
    const hashed = node.leftKeys.length > 0;
    const [probe, build] = node.build === 'left' ? [right, left] : [left, right];
    let children: Shown[] = [left.shown, right.shown];
    if (hashed) {
      const hash: Shown = { title: 'Hash', output: null, details: [], children: [build.shown], subplans: [] };
      if (build.shown.actual !== undefined) hash.actual = build.shown.actual;
      children = [probe.shown, hash];
    }
    const shown = this.shown(node, hashed ? `Hash${kind} Join` : `Nested Loop${kind ? `${kind} Join` : ''}`, names, children);
    if (hashed) {
      const conds = node.leftKeys.map((l, i) => `(${this.expr(l, left.names, outer, shown)} = ${this.expr(node.rightKeys[i] as Expr, right.names, outer, shown)})`);
      shown.details.push(`Hash Cond: ${conds.length === 1 ? conds[0] : `(${conds.join(' AND ')})`}`);
    }
    if (node.residual) shown.details.push(`Join Filter: ${this.expr(node.residual, names, outer, shown)}`);
    return { shown, names };
  }
}

function label(id: number, sub: Subquery | undefined): string {
  return `${sub?.correlated ? 'SubPlan' : 'InitPlan'} ${id + 1}`;
}

function actualOf(stats: NodeStats | undefined): Actual | null {
  return stats ? { loops: stats.loops, rows: stats.rows, startupMs: stats.startupMs, totalMs: stats.totalMs } : null;
}

function columnName(table: TableDescriptor, index: IndexDescriptor, i: number): string {
  const id = index.columnIds[i];
  return table.columns.find((c) => c.id === id)?.name ?? `column${i + 1}`;
}

/** A constraint as comparisons: `=` (or IN for several values), or a range's bounds. */
function constraintParts(c: ColumnConstraint): [string, readonly Expr[]][] {
  if (c.kind === 'equal') return c.values.length === 1 ? [['=', c.values]] : [['in', c.values]];
  const out: [string, readonly Expr[]][] = [];
  if (c.lower) out.push([c.lower.inclusive ? '>=' : '>', [c.lower.value]]);
  if (c.upper) out.push([c.upper.inclusive ? '<=' : '<', [c.upper.value]]);
  return out;
}

function aggregateText(a: AggregateCall, x: (e: Expr) => string, keys: readonly string[] = []): string {
  if (a.groupingKeys) return `GROUPING(${a.groupingKeys.map((k) => keys[k] ?? '?').join(', ')})`;
  if (a.direct) {
    const order = a.order.map((o) => `${x(o.expr)}${o.descending ? ' DESC' : ''}`).join(', ');
    return `${a.resolved.name}(${a.direct.map(x).join(', ')}) WITHIN GROUP (ORDER BY ${order})${a.filter ? ` FILTER (WHERE ${x(a.filter)})` : ''}`;
  }
  const args = a.args.length === 0 && a.resolved.name === 'count' ? '*' : a.args.map(x).join(', ');
  const order = a.order.length ? ` ORDER BY ${a.order.map((o) => `${x(o.expr)}${o.descending ? ' DESC' : ''}`).join(', ')}` : '';
  return `${a.resolved.name}(${args}${order})${a.filter ? ` FILTER (WHERE ${x(a.filter)})` : ''}`;
}

function windowText(f: WindowFunction, x: (e: Expr) => string): string {
  switch (f.kind) {
    case 'aggregate':
      return `${aggregateText(f.call, x)} OVER w${f.window + 1}`;
    case 'ntile':
      return `ntile(${x(f.buckets)}) OVER w${f.window + 1}`;
    case 'lag':
    case 'lead':
      return `${f.kind}(${[f.value, f.offset, f.fallback].flatMap((e) => (e ? [x(e)] : [])).join(', ')}) OVER w${f.window + 1}`;
    case 'first_value':
    case 'last_value':
      return `${f.kind}(${x(f.value)}) OVER w${f.window + 1}`;
    case 'nth_value':
      return `nth_value(${x(f.value)}, ${x(f.n)}) OVER w${f.window + 1}`;
    default:
      return `${f.kind}() OVER w${f.window + 1}`;
  }
}

/** The plan nodes a node reads. */
function inputs(n: PlanNode): readonly PlanNode[] {
  switch (n.kind) {
    case 'values':
    case 'scan':
    case 'workTable':
    case 'functionScan':
      return [];
    case 'join':
    case 'lateral':
    case 'setop':
      return [n.left, n.right];
    case 'union':
      return n.inputs;
    case 'recursive':
      return [n.base, n.step];
    default:
      return [n.input];
  }
}
