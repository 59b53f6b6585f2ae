// CREATE [OR REPLACE] VIEW and what dropping a relation means for the views
// reading it. A view is a descriptor holding its query (../plan/view.ts
// plans it where it is read); making one plans the query once, for its
// columns and to fail early on a bad query.
import type { Node } from '@pgsql/types';
import { creationSchema, findRelation, type Catalog } from '../catalog/catalog.js';
import type { Descriptor, ViewDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { at, fingerprint, type ParamTypes } from '../plan/analyze-expr.js';
import { qualifiedName, stringsOf, type PlanContext } from '../plan/context.js';
import { tableNames } from '../plan/cte.js';
import { planSelect } from '../plan/select.js';
import { formatType, typeByOid } from '../types/index.js';
import type { CatalogChange } from './change.js';

type ViewNode = Extract<Node, { ViewStmt: unknown }>['ViewStmt'];
type ViewColumn = ViewDescriptor['columns'][number];

export interface ViewEnv {
  readonly catalog: Catalog;
  readonly plan: PlanContext;
  readonly params: ParamTypes;
  readonly position: (location: number | undefined) => number | undefined;
  readonly checkName: (name: string, location: number | undefined) => void;
}

export async function createView(stmt: ViewNode, env: ViewEnv, change: CatalogChange): Promise<string> {
  const rv = stmt.view ?? {};
  if (rv.relpersistence === 't') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'temporary views are not supported', at(env, rv.location));
  if (stmt.withCheckOption && stmt.withCheckOption !== 'NO_CHECK_OPTION') throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'WITH CHECK OPTION is not supported');
  if (stmt.options?.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'view options are not supported');
  const query = stmt.query;
  if (!query || !('SelectStmt' in query)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'a view needs a SELECT');
  const qn = qualifiedName(rv);
  const schema = creationSchema(env.catalog, env.plan.names, qn);
  env.checkName(qn.name, rv.location);

  const { stored, dependsOn } = bindNames({ SelectStmt: query.SelectStmt }, env.catalog, env.plan);
  const plan = planSelect(query.SelectStmt, env.plan);
  if (env.params.resolved().length > 0) throw new SqlError(SQLSTATE.UNDEFINED_PARAMETER, 'there is no parameter $1');
  const aliases = stringsOf(stmt.aliases);
  if (aliases.length > plan.columns.length) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'CREATE VIEW specifies more column names than columns');
  const columns: ViewColumn[] = plan.columns.map((c, i) => ({ name: aliases[i] ?? c.name, sourceName: c.name, typeOid: c.type.oid, typmod: c.type.typmod }));
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new SqlError(SQLSTATE.DUPLICATE_COLUMN, `column "${c.name}" specified more than once`);
    seen.add(c.name);
  }

  const existing = env.catalog.relation(schema.id, qn.name);
  if (existing && !(stmt.replace && existing.kind === 'view')) {
    if (stmt.replace) throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `"${qn.name}" is not a view`);
    throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${qn.name}" already exists`, at(env, rv.location));
  }
  if (!existing && env.catalog.indexByName(schema.id, qn.name)) throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${qn.name}" already exists`, at(env, rv.location));
  if (existing?.kind === 'view') {
    const problem = replacementProblem(existing.columns, columns);
    if (problem) throw new SqlError(SQLSTATE.INVALID_TABLE_DEFINITION, problem);
    if (dependsOn.includes(existing.id) || readsThrough(existing.id, dependsOn, env.catalog)) {
      throw new SqlError(SQLSTATE.INVALID_OBJECT_DEFINITION, `infinite recursion detected in rules for relation "${qn.name}"`);
    }
  }
  const id = existing?.id ?? (await change.allocateId());
  change.put({ kind: 'view', id, name: qn.name, databaseId: env.plan.names.databaseId, schemaId: schema.id, query: stored, columns, dependsOn });
  return 'CREATE VIEW';
}

/**
 * Qualifies the query's table names with the schema each names now (so that
 * a later search_path does not change what the view reads), and lists the
 * relations named. Names of the query's own WITH queries stay as they are.
 */
export function bindNames(query: Node, catalog: Catalog, ctx: Pick<PlanContext, 'names'>): { stored: string; dependsOn: number[] } {
  const copy = JSON.parse(fingerprint(query)) as Node;
  const withNames = new Set<string>();
  JSON.stringify(copy, (key, value: unknown) => {
    if (key === 'ctename' && typeof value === 'string') withNames.add(value);
    return value;
  });
  const dependsOn = new Set<number>();
  for (const rv of tableNames(copy)) {
    if (rv.schemaname === undefined && withNames.has(rv.relname ?? '')) continue;
    const rel = findRelation(catalog, ctx.names, qualifiedName(rv));
    if (!rel) continue;
    const schema = catalog.byIdOf(rel.schemaId);
    rv.schemaname = schema?.name;
    delete rv.catalogname;
    dependsOn.add(rel.id);
  }
  return { stored: JSON.stringify(copy), dependsOn: [...dependsOn] };
}

/** PostgreSQL's rule for OR REPLACE: the old columns stay, by name and type; new ones may follow. */
export function replacementProblem(before: readonly ViewColumn[], after: readonly ViewColumn[]): string | null {
  if (after.length < before.length) return 'cannot drop columns from view';
  for (const [i, b] of before.entries()) {
    const a = after[i];
    if (!a) return 'cannot drop columns from view';
    if (a.name !== b.name) return `cannot change name of view column "${b.name}" to "${a.name}"`;
    if (a.typeOid !== b.typeOid) {
      const name = (oid: number) => {
        const t = typeByOid(oid);
        return t ? formatType(t) : String(oid);
      };
      return `cannot change data type of view column "${b.name}" from ${name(b.typeOid)} to ${name(a.typeOid)}`;
    }
  }
  return null;
}

function readsThrough(viewId: number, named: readonly number[], catalog: Catalog, seen = new Set<number>()): boolean {
  for (const id of named) {
    if (seen.has(id)) continue;
    seen.add(id);
    const d = catalog.byIdOf(id);
    if (d?.kind !== 'view') continue;
    if (d.dependsOn.includes(viewId) || readsThrough(viewId, d.dependsOn, catalog, seen)) return true;
  }
  return false;
}

/** The views that name a relation, directly or through other views, nearest last (the order to drop them in is reversed). */
export function dependentViews(id: number, descriptors: Iterable<Descriptor>): ViewDescriptor[] {
  const views = [...descriptors].filter((d): d is ViewDescriptor => d.kind === 'view');
  const out: ViewDescriptor[] = [];
  const visit = (target: number): void => {
    for (const v of views) {
      if (!v.dependsOn.includes(target) || out.includes(v)) continue;
      out.push(v);
      visit(v.id);
    }
  };
  visit(id);
  return out;
}

/** DROP of a relation views read: refused (2BP01) unless CASCADE, which drops those views first. */
export function dropDependents(rel: { readonly id: number; readonly name: string; readonly kind: string }, cascade: boolean, catalog: Catalog, change: CatalogChange): void {
  const dependents = dependentViews(rel.id, catalog.descriptors);
  if (dependents.length === 0) return;
  if (!cascade) {
    throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop ${rel.kind} ${rel.name} because other objects depend on it`, {
      detail: dependents.map((v) => `view ${v.name} depends on ${dependencyOf(v, rel, dependents)}`).join('\n'),
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
    });
  }
  for (const v of dependents) change.remove(v.id);
}

/** What a dependent view reads that is being dropped: the relation itself, or another view going with it. */
function dependencyOf(v: ViewDescriptor, rel: { readonly id: number; readonly name: string; readonly kind: string }, dependents: readonly ViewDescriptor[]): string {
  if (v.dependsOn.includes(rel.id)) return `${rel.kind} ${rel.name}`;
  const through = dependents.find((d) => v.dependsOn.includes(d.id));
  return through ? `view ${through.name}` : `${rel.kind} ${rel.name}`;
}
