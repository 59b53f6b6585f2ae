// What a write needs to enforce foreign keys (../exec/foreign-keys.ts): the
// catalog it was planned with, to find referenced and referencing tables, and
// for each table that a cascading action may change, its CHECK constraints
// and (for SET DEFAULT) its column defaults, analyzed now since execution has
// no planning context.
import type { TableDescriptor } from '../catalog/descriptors.js';
import type { Catalog } from '../catalog/catalog.js';
import type { PlanContext } from './context.js';
import { checksOf, defaultFor } from './dml.js';
import type { Expr } from './expr.js';

export interface ForeignKeyPlan {
  readonly catalog: Catalog;
  /** Per table id, for tables reachable through CASCADE, SET NULL or SET DEFAULT from the written table. */
  readonly actionTargets: ReadonlyMap<number, ActionTarget>;
}

export interface ActionTarget {
  readonly checks: readonly { readonly name: string; readonly predicate: Expr }[];
  /** Per column slot; present only when a SET DEFAULT action can change the table. */
  readonly defaults: readonly Expr[] | null;
}

export function planForeignKeys(table: TableDescriptor, ctx: PlanContext): ForeignKeyPlan {
  const actionTargets = new Map<number, ActionTarget>();
  const queue = [table];
  const seen = new Set<number>([table.id]);
  while (queue.length) {
    const parent = queue.pop() as TableDescriptor;
    for (const { table: child, fk } of ctx.catalog.referencing(parent.id)) {
      const actions = [fk.onDelete, fk.onUpdate];
      if (!actions.some((a) => a === 'c' || a === 'n' || a === 'd')) continue;
      const known = actionTargets.get(child.id);
      const needDefaults = actions.includes('d') && !known?.defaults;
      if (!known || needDefaults) {
        actionTargets.set(child.id, {
          checks: known?.checks ?? checksOf(child, ctx),
          defaults: needDefaults ? child.columns.map((_, slot) => defaultFor(child, slot, ctx)) : (known?.defaults ?? null),
        });
      }
      if (!seen.has(child.id)) {
        seen.add(child.id);
        queue.push(child);
      }
    }
  }
  return { catalog: ctx.catalog, actionTargets };
}
