// SQL text of what the catalog stores as parse trees (DEFAULT and CHECK
// expressions), in the shape PostgreSQL's ruleutils prints them: operators
// parenthesized, string literals with their type, nextval's argument as
// regclass. psql shows this text verbatim in \d, so the shape matters.
import type { Node } from '@pgsql/types';
import { SQLSTATE, SqlError } from '../../errors.js';
import { T, formatText, formatType, parseText, typeFromName, type SqlType } from '../../types/index.js';
import type { ForeignKeyDescriptor, IndexDescriptor, ReferentialAction, TableDescriptor } from '../descriptors.js';

/** PostgreSQL's quote_ident, without the reserved-word check. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * A stored expression (parse-tree JSON) as pg_get_expr prints it; `type` is
 * the column's, for a bare literal default. `pretty` is pg_get_expr's flag:
 * fewer parentheses.
 */
export function deparseStored(json: string, type?: SqlType, pretty = false): string {
  const node = JSON.parse(json) as Node;
  if (type && 'A_Const' in node && node.A_Const.sval !== undefined) return typedLiteral(node.A_Const.sval.sval ?? '', { ...type, typmod: -1 });
  const element = type?.element;
  if (element && 'A_ArrayExpr' in node) {
    // ARRAY[…] as a column default: its elements are constants of the element type, shown as such.
    const typed = (e: Node) => ('A_Const' in e && e.A_Const.isnull ? `NULL::${formatType(element)}` : deparseStored(JSON.stringify(e), element, pretty));
    return `ARRAY[${(node.A_ArrayExpr.elements ?? []).map(typed).join(', ')}]`;
  }
  const text = deparse(node, pretty);
  return pretty && enclosed(text) ? text.slice(1, -1) : text;
}

/**
 * A string literal default as PostgreSQL prints the constant it folds it to
 * (ruleutils' get_const_expr): a boolean bare, a non-negative integer bare,
 * a numeric bare when it has a point; anything else quoted with its type.
 * knex writes DEFAULT '1' for true and DEFAULT '0' for numbers, so
 * information_schema.columns shows these.
 */
function typedLiteral(text: string, type: SqlType): string {
  const labelled = (value: string) => `${quoteLiteral(value)}::${formatType(type)}`;
  if (type.oid !== T.bool.oid && type.oid !== T.int4.oid && type.oid !== T.numeric.oid) return labelled(text);
  let value: string;
  try {
    value = formatText(type, parseText(type, text));
  } catch {
    return labelled(text);
  }
  if (type.oid === T.bool.oid) return value === 't' ? 'true' : 'false';
  if (type.oid === T.int4.oid) return value.startsWith('-') ? labelled(value) : value;
  return /^\d/.test(value) && /[.eE]/.test(value) ? value : labelled(value);
}

/**
 * What pg_attrdef.adbin and pg_constraint.conbin hold: PostgreSQL keeps a
 * node tree there that only pg_get_expr reads, so Shoal keeps what its
 * pg_get_expr needs, the stored expression and the column's type.
 */
export function exprEnvelope(json: string, type?: SqlType): string {
  return JSON.stringify({ expr: json, ...(type ? { typeOid: type.oid, typmod: type.typmod } : {}) });
}

/** pg_get_expr of an exprEnvelope (other text is returned as is). */
export function envelopeText(text: string, pretty: boolean, typeOf: (oid: number, typmod: number) => SqlType | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof parsed !== 'object' || parsed === null || !('expr' in parsed) || typeof parsed.expr !== 'string') return text;
  const type = 'typeOid' in parsed && typeof parsed.typeOid === 'number' && 'typmod' in parsed && typeof parsed.typmod === 'number' ? typeOf(parsed.typeOid, parsed.typmod) : undefined;
  return deparseStored(parsed.expr, type, pretty);
}

export function deparse(node: Node, pretty = false): string {
  const sub = (n: Node) => deparse(n, pretty);
  if ('A_Const' in node) {
    const c = node.A_Const;
    if (c.isnull) return 'NULL';
    if (c.ival !== undefined) return String(c.ival.ival ?? 0);
    if (c.fval !== undefined) return c.fval.fval ?? '0';
    if (c.boolval !== undefined) return c.boolval.boolval ? 'true' : 'false';
    if (c.sval !== undefined) return `${quoteLiteral(c.sval.sval ?? '')}::text`;
  }
  if ('ColumnRef' in node) return (node.ColumnRef.fields ?? []).map((f) => ('String' in f ? quoteIdent(f.String.sval ?? '') : '*')).join('.');
  if ('TypeCast' in node) {
    const arg = node.TypeCast.arg;
    const names = (node.TypeCast.typeName?.names ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
    let typeName: string;
    try {
      typeName = formatType(typeFromName(names, []));
    } catch {
      typeName = names.filter((n) => n !== 'pg_catalog').join('.');
    }
    if (node.TypeCast.typeName?.arrayBounds?.length) typeName += '[]';
    if (!arg) return `NULL::${typeName}`;
    if ('A_Const' in arg) return `${arg.A_Const.sval !== undefined ? quoteLiteral(arg.A_Const.sval.sval ?? '') : sub(arg)}::${typeName}`;
    // ruleutils parenthesizes a cast's argument unless pretty and it is a simple node.
    const inner = sub(arg);
    const simple = pretty && ('FuncCall' in arg || 'ColumnRef' in arg || enclosed(inner));
    return simple ? `${inner}::${typeName}` : `(${inner})::${typeName}`;
  }
  if ('FuncCall' in node) {
    const f = node.FuncCall;
    const names = (f.funcname ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((n) => n !== 'pg_catalog');
    const name = names.join('.');
    const args = f.args ?? [];
    if (name === 'nextval' && args.length === 1) {
      const [a] = args;
      if (a && 'A_Const' in a && a.A_Const.sval !== undefined) return `nextval(${quoteLiteral(a.A_Const.sval.sval ?? '')}::regclass)`;
    }
    if (f.agg_star) return `${name}(*)`;
    return `${name}(${args.map(sub).join(', ')})`;
  }
  if ('A_Expr' in node && (node.A_Expr.kind === 'AEXPR_OP' || node.A_Expr.kind === 'AEXPR_LIKE' || node.A_Expr.kind === 'AEXPR_ILIKE')) {
    const a = node.A_Expr;
    const ops = (a.name ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
    const op = ops[ops.length - 1] ?? '?';
    const right = a.rexpr ? sub(a.rexpr) : '';
    return a.lexpr ? `(${sub(a.lexpr)} ${op} ${right})` : `(${op} ${right})`;
  }
  if ('BoolExpr' in node) {
    const b = node.BoolExpr;
    const args = (b.args ?? []).map(sub);
    if (b.boolop === 'NOT_EXPR') return `(NOT ${args[0] ?? ''})`;
    return `(${args.join(b.boolop === 'AND_EXPR' ? ' AND ' : ' OR ')})`;
  }
  if ('NullTest' in node) {
    const arg = node.NullTest.arg ? sub(node.NullTest.arg) : '';
    return `(${arg} ${node.NullTest.nulltesttype === 'IS_NOT_NULL' ? 'IS NOT NULL' : 'IS NULL'})`;
  }
  if ('SQLValueFunction' in node) {
    return (node.SQLValueFunction.op ?? '').replace('SVFOP_', '').replace(/_N$/, '');
  }
  if ('A_ArrayExpr' in node) return `ARRAY[${(node.A_ArrayExpr.elements ?? []).map(sub).join(', ')}]`;
  throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `showing the expression kind ${Object.keys(node)[0] ?? '?'} is not supported`);
}

function indexColumns(table: TableDescriptor, index: IndexDescriptor): string {
  return index.columnIds
    .map((id, i) => {
      const column = table.columns.find((c) => c.id === id);
      return `${quoteIdent(column?.name ?? '?')}${index.descending[i] ? ' DESC' : ''}`;
    })
    .join(', ');
}

/** pg_get_indexdef. */
export function indexDefinition(schema: string | null, table: TableDescriptor, index: IndexDescriptor): string {
  const name = schema === null ? quoteIdent(table.name) : `${quoteIdent(schema)}.${quoteIdent(table.name)}`;
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(index.name)} ON ${name} USING btree (${indexColumns(table, index)})`;
}

/** pg_get_constraintdef of a primary key. */
export function primaryKeyDefinition(table: TableDescriptor): string {
  return `PRIMARY KEY (${indexColumns(table, table.primaryKey)})`;
}

const ACTION_WORDS: Readonly<Record<ReferentialAction, string>> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/** pg_get_constraintdef of a foreign key; `parentName` is the referenced table's name as PostgreSQL prints it (qualified when not visible). */
export function foreignKeyDefinition(table: TableDescriptor, fk: ForeignKeyDescriptor, parent: TableDescriptor, parentName: string): string {
  const cols = (t: TableDescriptor, ids: readonly number[]) => ids.map((id) => quoteIdent(t.columns.find((c) => c.id === id)?.name ?? '?')).join(', ');
  let text = `FOREIGN KEY (${cols(table, fk.columnIds)}) REFERENCES ${parentName}(${cols(parent, fk.refColumnIds)})`;
  if (fk.match === 'f') text += ' MATCH FULL';
  if (fk.onUpdate !== 'a') text += ` ON UPDATE ${ACTION_WORDS[fk.onUpdate]}`;
  if (fk.onDelete !== 'a') text += ` ON DELETE ${ACTION_WORDS[fk.onDelete]}`;
  return text;
}

/** pg_get_constraintdef of a CHECK constraint; `pretty` drops the expression's outer parentheses, as PostgreSQL's does. */
export function checkDefinition(expr: string, pretty = false): string {
  const body = deparse(JSON.parse(expr) as Node);
  return `CHECK (${pretty && enclosed(body) ? body.slice(1, -1) : body})`;
}

/** Whether the text's first parenthesis closes at its end. */
function enclosed(text: string): boolean {
  if (!text.startsWith('(')) return false;
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    if (ch === ')' && --depth === 0) return i === text.length - 1;
  }
  return false;
}
