// The planner's side of the virtual pg_catalog and information_schema
// (../catalog/system): reading them in FROM, the catalog functions and reg*
// casts catalog queries use, `x op ANY (array)` and ARRAY(subquery) over the
// array text the catalog columns hold. Kept out of ./analyze-expr.ts and
// ./from.ts, which only call in here.
import type { Node } from '@pgsql/types';
import { formatArrayText, parseArrayText } from '../catalog/system/arrays.js';
import { encodingName } from '../catalog/system/databases.js';
import { checkDefinition, envelopeText, foreignKeyDefinition, indexDefinition, primaryKeyDefinition, quoteIdent } from '../catalog/system/deparse.js';
import { schemaName, searchSchemaIds } from '../catalog/system/namespaces.js';
import { rowValues, systemTable, systemTableByOid, SYSTEM_TABLES } from '../catalog/system/registry.js';
import { formatTypeIn, typeIsVisible } from '../catalog/system/types.js';
import { userTypes } from '../catalog/catalog.js';
import { checkOfOid, foreignKeyOfOid, indexOfOid, indexOid, roleNameByOid, roleOid, type SystemView } from '../catalog/system/view.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { SqlArray, T, formatType, parseText, resolveOperator, typeByOid, typeFromName, withTypmod, type Datum, type SqlType } from '../types/index.js';
import type { ExprContext, SessionInfo } from './analyze-expr.js';
import { splitName, type PlanContext } from './context.js';
import type { Expr } from './expr.js';
import type { QueryPlan } from './plan.js';

type RangeVarNode = Extract<Node, { RangeVar: unknown }>['RangeVar'];
type SubLinkNode = Extract<Node, { SubLink: unknown }>['SubLink'];
type TypeNameNode = Extract<Node, { TypeName: unknown }>['TypeName'];

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/**
 * The plan of a virtual relation named in FROM, or undefined when the name is
 * not one: qualified with pg_catalog or information_schema, or an
 * unqualified pg_* name (pg_catalog is implicitly first in the search path).
 */
export function systemRelationPlan(rv: RangeVarNode, ctx: PlanContext): QueryPlan | undefined {
  const name = rv.relname ?? '';
  const schema = rv.schemaname ?? (name.startsWith('pg_') && !shadowed(name, ctx) ? 'pg_catalog' : undefined);
  if (schema === undefined || !SYSTEM_SCHEMAS.has(schema) || rv.catalogname !== undefined) return undefined;
  const table = systemTable(schema, name);
  if (!table) {
    if (rv.schemaname === undefined) return undefined;
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${schema}.${name} is not supported`, positionOf(ctx, rv.location));
  }
  const view: SystemView = { catalog: ctx.catalog, databaseId: ctx.names.databaseId, user: ctx.session.user, searchPath: ctx.names.searchPath };
  const rows = table.rows(view).map((row) => rowValues(table, row).map((value, i): Expr => ({ kind: 'const', type: table.columns[i]?.type ?? T.text, value })));
  return {
    root: { kind: 'values', rows },
    columns: table.columns.map((c, i) => ({ name: c.name, type: c.type, tableOid: table.oid, columnNumber: i + 1 })),
    subqueries: [],
    correlated: false,
  };
}

/** A search path that names pg_catalog after other schemas lets their relations hide its ones. */
function shadowed(name: string, ctx: PlanContext): boolean {
  const path = ctx.names.searchPath;
  const at = path.indexOf('pg_catalog');
  if (at < 0) return false;
  return path.slice(0, at).some((schemaName) => {
    const schema = ctx.catalog.schema(ctx.names.databaseId, schemaName);
    return schema !== undefined && ctx.catalog.relation(schema.id, name) !== undefined;
  });
}

function positionOf(ctx: { position: (l: number | undefined) => number | undefined }, location: number | undefined): { position?: number } {
  const p = ctx.position(location);
  return p === undefined ? {} : { position: p };
}

function viewOf(session: SessionInfo): SystemView | undefined {
  if (!session.catalog || session.databaseId === undefined) return undefined;
  return { catalog: session.catalog, databaseId: session.databaseId, user: session.user, searchPath: session.searchPath };
}

function num(d: Datum): number | null {
  if (d === null) return null;
  if (typeof d === 'number') return d;
  if (typeof d === 'bigint') return Number(d);
  if (typeof d === 'string' && /^\s*-?\d+\s*$/.test(d)) return Number(d);
  return null;
}

function str(d: Datum): string | null {
  return d === null ? null : typeof d === 'string' ? d : typeof d === 'number' || typeof d === 'bigint' || typeof d === 'boolean' ? text(d) : null;
}

/** A non-NULL argument as text (the functions here take text, name or unknown literals). */
function text(d: Datum | undefined): string {
  return str(d ?? null) ?? '';
}

function call(type: SqlType, args: readonly Expr[], fn: (args: readonly Datum[]) => Datum, strict = true): Expr {
  return { kind: 'call', type, args, strict, volatile: false, fn: (values) => fn(values) };
}

/** The relation (or index) name an OID stands for, schema-qualified when not visible, as regclass prints it. */
function relationName(view: SystemView, oid: number): string | null {
  const system = systemTableByOid(oid);
  if (system) return system.schema === 'pg_catalog' ? system.name : `${system.schema}.${system.name}`;
  const index = indexOfOid(view, oid);
  const rel = view.catalog.byIdOf(oid);
  const found = index ? { name: index.index.name, schemaId: index.table.schemaId } : rel && rel.kind !== 'database' && rel.kind !== 'schema' ? { name: rel.name, schemaId: rel.schemaId } : undefined;
  if (!found) return String(oid);
  return isVisible(view, found.name, found.schemaId) ? quoteIdent(found.name) : `${quoteIdent(schemaName(view, found.schemaId) ?? '?')}.${quoteIdent(found.name)}`;
}

function isVisible(view: SystemView, name: string, schemaId: number): boolean {
  for (const id of searchSchemaIds(view)) {
    if (view.catalog.relation(id, name) || view.catalog.indexByName(id, name)) return id === schemaId;
  }
  return false;
}

function tableIsVisible(view: SystemView, oid: number): boolean {
  if (systemTableByOid(oid)) return true;
  const index = indexOfOid(view, oid);
  if (index) return isVisible(view, index.index.name, index.table.schemaId);
  const rel = view.catalog.byIdOf(oid);
  if (!rel || rel.kind === 'database' || rel.kind === 'schema') return false;
  return isVisible(view, rel.name, rel.schemaId);
}

/** A possibly qualified, possibly quoted name as regclass input reads it. */
function relationOid(view: SystemView, text: string): number {
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  const parts = splitName(text);
  const name = parts[parts.length - 1] ?? '';
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const system = schema !== undefined ? systemTable(schema, name) : name.startsWith('pg_') ? systemTable('pg_catalog', name) : undefined;
  if (system) return system.oid;
  const schemaIds = schema === undefined ? searchSchemaIds(view) : [view.catalog.schema(view.databaseId, schema)?.id ?? -1];
  for (const id of schemaIds) {
    const rel = view.catalog.relation(id, name);
    if (rel) return rel.id;
    const index = view.catalog.indexByName(id, name);
    if (index) return indexOid(index.table.id, index.indexId);
  }
  throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${text}" does not exist`);
}

const REG_TYPES = new Set(['regclass', 'regtype', 'regnamespace', 'regrole', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regconfig', 'regdictionary', 'regcollation']);

/**
 * Casts to reg* types, or undefined for other casts. A reg* value is an OID:
 * from a name it is that OID (so comparisons with oid columns work), from an
 * OID it is the name as text (what it prints as).
 */
export function systemCast(typeName: TypeNameNode | undefined, analyzeArg: () => Expr, ctx: ExprContext, location: number | undefined): Expr | undefined {
  const names = (typeName?.names ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
  const last = names[names.length - 1] ?? '';
  if ((typeName?.arrayBounds?.length ?? 0) > 0 || !REG_TYPES.has(last)) return undefined;
  const arg = analyzeArg();
  const where = positionOf(ctx, location);
  const view = viewOf(ctx.session);
  if (!view || (last !== 'regclass' && last !== 'regtype' && last !== 'regnamespace' && last !== 'regrole')) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `type ${last} is not supported`, where);
  }
  const fromName = (text: string): number => {
    if (/^\s*\d+\s*$/.test(text)) return Number(text);
    switch (last) {
      case 'regclass':
        return relationOid(view, text);
      case 'regtype':
        return typeFromName(splitName(text), [], userTypes(view.catalog, view)).oid;
      case 'regnamespace': {
        const [name = ''] = splitName(text);
        if (name === 'pg_catalog' || name === 'information_schema') return name === 'pg_catalog' ? 11 : 13;
        const s = view.catalog.schema(view.databaseId, name);
        if (!s) throw new SqlError(SQLSTATE.INVALID_SCHEMA_NAME, `schema "${name}" does not exist`);
        return s.id;
      }
      default: {
        const [name = ''] = splitName(text);
        if (!view.catalog.role(name)) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `role "${name}" does not exist`);
        return roleOid(name);
      }
    }
  };
  const toName = (oid: number): string => {
    switch (last) {
      case 'regclass':
        return relationName(view, oid) ?? String(oid);
      case 'regtype': {
        const t = view.catalog.sqlType(oid);
        return t ? formatTypeIn(view, t) : String(oid);
      }
      case 'regnamespace':
        return schemaName(view, oid) ?? String(oid);
      default:
        return roleNameByOid(view, oid) ?? String(oid);
    }
  };
  if (arg.type.oid === T.unknown.oid || arg.type.oid === T.text.oid || arg.type.oid === T.name.oid || arg.type.oid === T.varchar.oid) {
    if (arg.kind === 'const') {
      try {
        return { kind: 'const', type: T.oid, value: arg.value === null ? null : fromName(text(arg.value)) };
      } catch (err) {
        if (err instanceof SqlError) throw err.at(where.position);
        throw err;
      }
    }
    return call(T.oid, [arg], ([v]) => fromName(text(v)));
  }
  if (arg.type.category !== 'N') throw new SqlError(SQLSTATE.CANNOT_COERCE, `cannot cast type ${formatType(arg.type)} to ${last}`, where);
  return call(T.text, [arg], ([v]) => {
    const oid = num(v ?? null);
    return oid === null ? null : oid === 0 ? '-' : toName(oid);
  });
}

/** Catalog information functions, or undefined when `name` is none of them. */
export function systemFunction(name: string, args: readonly Expr[], ctx: ExprContext): Expr | undefined {
  const view = viewOf(ctx.session);
  const n = args.length;
  const nullOf = (type: SqlType): Expr => call(type, args, () => null, false);
  switch (name) {
    case 'current_schemas':
      if (n !== 1) return undefined;
      return call(T.text, args, ([implicit]) => formatArrayText([...(implicit === true && !ctx.session.searchPath.includes('pg_catalog') ? ['pg_catalog'] : []), ...ctx.session.searchPath]));
    case 'pg_encoding_to_char':
      return n === 1 ? call(T.name, args, ([e]) => encodingName(num(e ?? null) ?? -1)) : undefined;
    case 'array_to_string':
      if (n !== 2 && n !== 3) return undefined;
      return call(
        T.text,
        args,
        ([arr, sep, nullText]) => {
          if (arr === null || arr === undefined || sep === null || sep === undefined) return null;
          const elements = parseArrayText(text(arr));
          const shown = elements.flatMap((e) => (e !== null ? [e] : nullText !== null && nullText !== undefined ? [text(nullText)] : []));
          return shown.join(text(sep));
        },
        false,
      );
    case 'array_upper':
    case 'array_lower':
    case 'array_length':
      if (n !== 2) return undefined;
      return call(T.int4, args, ([arr, dim]) => {
        const count = parseArrayText(text(arr)).length;
        if (num(dim ?? null) !== 1 || count === 0) return null;
        return name === 'array_lower' ? 1 : count;
      });
    case 'quote_ident':
      return n === 1 ? call(T.text, args, ([s]) => quoteIdent(str(s ?? null) ?? '')) : undefined;
    case 'obj_description':
    case 'col_description':
    case 'shobj_description':
    case 'pg_get_statisticsobjdef_columns':
    case 'pg_get_triggerdef':
    case 'pg_get_partkeydef':
      // Shoal has no comments, extended statistics, triggers or partitioning.
      return nullOf(T.text);
    case 'has_table_privilege':
    case 'has_schema_privilege':
    case 'has_database_privilege':
    case 'has_column_privilege':
    case 'has_any_column_privilege':
    case 'has_sequence_privilege':
    case 'pg_has_role':
      // Shoal has no privileges to check: every role of a tenant may do everything.
      return call(T.bool, args, () => true);
    case 'pg_type_is_visible':
      // Built-in types are pg_catalog's, always on the search path; an enum is when the path finds it first.
      return n === 1
        ? call(T.bool, args, ([o]) => {
            const oid = num(o ?? null) ?? 0;
            const t = view ? view.catalog.sqlType(oid) : typeByOid(oid);
            return t !== undefined && (!view || typeIsVisible(view, t));
          })
        : undefined;
    case 'pg_statistics_obj_is_visible':
    case 'pg_collation_is_visible':
      // Extended statistics do not exist, and collations are all pg_catalog's.
      return n === 1 ? call(T.bool, args, () => true) : undefined;
    case 'pg_tablespace_location':
      // The two tablespaces are the built-in ones, whose location is the empty string.
      return n === 1 ? call(T.text, args, () => '') : undefined;
    case 'pg_is_in_recovery':
      return n === 0 ? call(T.bool, args, () => false) : undefined;
    case 'pg_get_viewdef':
    case 'pg_get_ruledef':
    case 'pg_get_functiondef':
    case 'pg_get_function_arguments':
    case 'pg_get_function_result':
    case 'pg_get_function_identity_arguments':
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${name} is not supported`);
    case 'pg_database_size':
    case 'pg_relation_size':
    case 'pg_table_size':
    case 'pg_total_relation_size':
    case 'pg_indexes_size':
    case 'pg_tablespace_size':
      // Data lives in kvpod, shared by the tenant's tables: there is no per-relation size to report.
      throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${name} is not supported`);
    default:
      break;
  }
  if (!view) return undefined;
  switch (name) {
    case 'pg_get_userbyid':
      return n === 1 ? call(T.name, args, ([o]) => { const oid = num(o ?? null) ?? 0; return roleNameByOid(view, oid) ?? `unknown (OID=${oid})`; }) : undefined;
    case 'pg_table_is_visible':
      return n === 1 ? call(T.bool, args, ([o]) => tableIsVisible(view, num(o ?? null) ?? 0)) : undefined;
    case 'pg_relation_is_publishable':
      return n === 1 ? call(T.bool, args, ([o]) => view.catalog.table(num(o ?? null) ?? 0) !== undefined) : undefined;
    case 'format_type':
      if (n !== 2) return undefined;
      return call(
        T.text,
        args,
        ([o, typmod]) => {
          const oid = num(o ?? null);
          if (oid === null) return null;
          const t = view.catalog.sqlType(oid);
          return t ? formatTypeIn(view, withTypmod(t, num(typmod ?? null) ?? -1)) : '???';
        },
        false,
      );
    case 'pg_get_expr':
      if (n !== 2 && n !== 3) return undefined;
      return call(T.text, args, ([expr, _rel, pretty]) => envelopeText(text(expr), pretty === true, (oid, typmod) => { const t = view.catalog.sqlType(oid); return t && withTypmod(t, typmod); }));
    case 'pg_get_indexdef':
      if (n !== 1 && n !== 3) return undefined;
      return call(T.text, args, ([o, column, pretty]) => {
        const found = indexOfOid(view, num(o ?? null) ?? 0);
        if (!found) return null;
        const col = num(column ?? null) ?? 0;
        if (col > 0) {
          const id = found.index.columnIds[col - 1];
          const c = found.table.columns.find((x) => x.id === id);
          return c ? quoteIdent(c.name) : '';
        }
        // Pretty, the table is qualified only when the search path would not find it.
        const qualify = pretty !== true || !isVisible(view, found.table.name, found.table.schemaId);
        return indexDefinition(qualify ? (schemaName(view, found.table.schemaId) ?? '') : null, found.table, found.index);
      });
    case 'pg_get_constraintdef':
      if (n !== 1 && n !== 2) return undefined;
      return call(T.text, args, ([o, pretty]) => {
        const oid = num(o ?? null) ?? 0;
        const check = checkOfOid(view, oid);
        if (check) return checkDefinition(check.table.checks[check.position]?.expr ?? 'null', pretty === true) + (check.table.checks[check.position]?.notValid ? ' NOT VALID' : '');
        const foreign = foreignKeyOfOid(view, oid);
        const parent = foreign && view.catalog.table(foreign.fk.refTableId);
        if (foreign && parent) return foreignKeyDefinition(foreign.table, foreign.fk, parent, relationName(view, parent.id) ?? parent.name) + (foreign.fk.notValid ? ' NOT VALID' : '');
        const index = indexOfOid(view, oid);
        return index && index.index.id === index.table.primaryKey.id ? primaryKeyDefinition(index.table) : null;
      });
    case 'pg_get_serial_sequence':
      if (n !== 2) return undefined;
      return call(T.text, args, ([table, column]) => {
        const tableOid = relationOid(view, text(table));
        for (const d of view.catalog.descriptors) {
          if (d.kind !== 'sequence' || d.ownedBy?.tableId !== tableOid) continue;
          const t = view.catalog.table(tableOid);
          if (t?.columns.find((c) => c.id === d.ownedBy?.columnId)?.name !== text(column)) continue;
          return `${quoteIdent(schemaName(view, d.schemaId) ?? '')}.${quoteIdent(d.name)}`;
        }
        return null;
      });
    default:
      return undefined;
  }
}

/**
 * `x op ANY (array)` / `x op ALL (array)` over an array's text form, with
 * PostgreSQL's NULL rules: true (ANY) / false (ALL) as soon as one element
 * decides, else NULL if an element or x was NULL.
 */
export function arrayComparison(op: string, left: Expr, right: Expr, all: boolean, ctx: ExprContext, location: number | undefined): Expr {
  const where = positionOf(ctx, location);
  if (right.type.oid !== T.text.oid && right.type.oid !== T.unknown.oid) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `${op} ${all ? 'ALL' : 'ANY'} needs an array; array expressions are not supported yet`, where);
  }
  const type = left.type.oid === T.unknown.oid ? T.text : left.type;
  const l: Expr = left.type.oid === T.unknown.oid && left.kind === 'const' ? { kind: 'const', type: T.text, value: left.value } : left;
  let resolved;
  try {
    resolved = resolveOperator(op, type, type);
  } catch (err) {
    if (err instanceof SqlError) throw err.at(where.position);
    throw err;
  }
  if (resolved.result.oid !== T.bool.oid) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `op ANY/ALL (array) requires operator to yield boolean`, where);
  const fn = resolved.fn;
  return {
    kind: 'call',
    type: T.bool,
    args: [l, right],
    strict: false,
    volatile: false,
    fn: ([x, arr], c) => {
      if (arr === null || arr === undefined) return null;
      const elements = parseArrayText(text(arr));
      if (elements.length === 0) return all;
      if (x === null || x === undefined) return null;
      let sawNull = false;
      for (const e of elements) {
        const r = e === null ? null : fn(x, parseText(type, e, { timeZone: c.timeZone }), { timeZone: c.timeZone });
        if (r === null) sawNull = true;
        else if (r === !all) return !all;
      }
      return sawNull ? null : all;
    },
  };
}

/**
 * `array[i]` over an array's text form. The element type is not known (the
 * text form does not carry it), so the element is an unknown-typed value:
 * like a literal, it takes the type its use asks for (`attnum = prattrs[s]`).
 */
export function arraySubscript(arg: Expr, indirection: readonly Node[], analyze: (n: Node) => Expr, ctx: ExprContext): Expr {
  const [first, ...rest] = indirection;
  const where = positionOf(ctx, undefined);
  if (!first || rest.length > 0 || !('A_Indices' in first) || first.A_Indices.is_slice || !first.A_Indices.uidx) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'only single array subscripts are supported', where);
  }
  if (arg.type.oid !== T.text.oid && arg.type.oid !== T.unknown.oid) {
    throw new SqlError(SQLSTATE.DATATYPE_MISMATCH, `cannot subscript type ${formatType(arg.type)} because it does not support subscripting`, where);
  }
  const index = analyze(first.A_Indices.uidx);
  return call(T.unknown, [arg, index], ([arr, i]) => {
    const n = num(i ?? null);
    return n === null ? null : (parseArrayText(text(arr))[n - 1] ?? null);
  });
}

const ref = (name: string): Node => ({ ColumnRef: { fields: [{ String: { sval: name } }] } });

/**
 * ARRAY(subquery) as a scalar subquery aggregating the elements with
 * array_agg (in the subquery's order); an empty array when there are none.
 */
export function arraySubquery(s: SubLinkNode, ctx: ExprContext): Expr {
  const where = positionOf(ctx, s.location);
  if (!ctx.subqueries) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'subqueries are not allowed here', where);
  if (!s.subselect) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'ARRAY without a subquery', where);
  const aggregate: Node = { SelectStmt: {
    targetList: [{ ResTarget: { val: { FuncCall: { funcname: [{ String: { sval: 'array_agg' } }], args: [ref('element')], funcformat: 'COERCE_EXPLICIT_CALL' } } } }],
    fromClause: [{ RangeSubselect: { subquery: s.subselect, alias: { aliasname: '_array', colnames: [{ String: { sval: 'element' } }] } } }],
    limitOption: 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  } };
  const planned = ctx.subqueries.plan(aggregate, ctx.scope, s.location);
  if (planned.correlated && ctx.grouping) {
    throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'correlated subqueries after GROUP BY or aggregates are not supported yet', where);
  }
  const type = planned.columns[0] ?? T.text;
  const value: Expr = { kind: 'subqueryValue', type, id: planned.id };
  return call(type, [value], ([array]) => array ?? new SqlArray([]), false);
}

export { SYSTEM_TABLES };
