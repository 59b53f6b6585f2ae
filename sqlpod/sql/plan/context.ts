// What planning a statement needs to know, shared by the statement planners.
import type { Node } from '@pgsql/types';
import { findRelation, userTypes, type Catalog, type NameContext } from '../catalog/catalog.js';
import type { UserTypeLookup } from '../types/index.js';
import type { ParamTypes, SessionInfo } from './analyze-expr.js';
import type { CteScope } from './cte.js';
import type { Subquery } from './plan.js';

export interface PlanContext {
  readonly catalog: Catalog;
  readonly names: NameContext;
  readonly session: SessionInfo;
  readonly params: ParamTypes;
  /** Parser location (byte offset in the query string) → 1-based position in the statement. */
  readonly position: (location: number | undefined) => number | undefined;
  /** Subqueries of the statement; their index is their id. */
  readonly subqueries: Subquery[];
  /** The WITH queries visible here (./cte.ts). */
  readonly ctes?: CteScope;
}

/** What expression analysis looks up in the catalog: sequences for nextval, enum types for casts. */
export function exprLookups(ctx: Pick<PlanContext, 'catalog' | 'names'>): { sequenceNamed: (name: string) => number | undefined; userTypes: UserTypeLookup } {
  return { sequenceNamed: sequenceLookup(ctx), userTypes: userTypes(ctx.catalog, ctx.names) };
}

/** nextval's lookup: a sequence by name, in the search path or qualified. */
export function sequenceLookup(ctx: Pick<PlanContext, 'catalog' | 'names'>): (name: string) => number | undefined {
  const find = (parts: readonly string[]) => {
    const rel = findRelation(ctx.catalog, ctx.names, { schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name: parts[parts.length - 1] ?? '' });
    return rel?.kind === 'sequence' ? rel.id : undefined;
  };
  // As regclass reads it: unquoted parts fold to lower case.
  return (name) => find(splitName(name));
}

/** A possibly qualified name as regclass input reads it: "Quoted" parts kept, the others folded to lower case. */
export function splitName(text: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^."]+))\s*(\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : (m[2] ?? '').trim().toLowerCase());
    if (m[3] === '') break;
  }
  return parts;
}

export function qualifiedName(rv: { catalogname?: string; schemaname?: string; relname?: string }) {
  return { catalog: rv.catalogname, schema: rv.schemaname, name: rv.relname ?? '' };
}

export function stringsOf(nodes: readonly Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
}
