// Enum types (CREATE TYPE … AS ENUM). A value is its label as a string; it
// sorts by its label's sort order, which is what keys and stored values hold,
// so that ALTER TYPE … ADD VALUE BEFORE/AFTER and RENAME VALUE change nothing
// already written. Sort orders are floats, as in pg_enum: a label added
// between two others takes the midpoint.
import { SQLSTATE } from '../errors.js';
import { sqlError, type SqlType } from './catalog.js';

export interface EnumLabel {
  readonly label: string;
  readonly sortOrder: number;
}

/** An enum type's labels, in sort order. */
export class EnumLabels {
  private readonly orders: ReadonlyMap<string, number>;
  private readonly labels: ReadonlyMap<number, string>;

  constructor(readonly all: readonly EnumLabel[]) {
    this.orders = new Map(all.map((l) => [l.label, l.sortOrder]));
    this.labels = new Map(all.map((l) => [l.sortOrder, l.label]));
  }

  sortOrderOf(label: string): number | undefined {
    return this.orders.get(label);
  }

  labelOf(sortOrder: number): string | undefined {
    return this.labels.get(sortOrder);
  }
}

/** pg_type.typcategory of enum types. */
export const ENUM_CATEGORY = 'E';

export function enumType(oid: number, name: string, labels: readonly EnumLabel[]): SqlType {
  const sorted = [...labels].sort((a, b) => a.sortOrder - b.sortOrder);
  return Object.freeze({ oid, name, typname: name, typmod: -1, typeSize: 4, category: ENUM_CATEGORY, preferred: false, enumLabels: new EnumLabels(sorted) });
}

function labelsOf(t: SqlType): EnumLabels {
  if (!t.enumLabels) throw new TypeError(`type ${t.name} is not an enum`);
  return t.enumLabels;
}

/** enum_in: the label itself, or 22P02 for a string that is none of the type's labels. */
export function parseEnum(t: SqlType, text: string): string {
  if (labelsOf(t).sortOrderOf(text) === undefined) throw sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `invalid input value for enum ${t.name}: "${text}"`);
  return text;
}

/** The sort order a value is stored and keyed by. */
export function enumSortOrder(t: SqlType, label: string): number {
  const order = labelsOf(t).sortOrderOf(label);
  if (order === undefined) throw new TypeError(`"${label}" is not a label of ${t.name}`);
  return order;
}

/** The label a stored sort order stands for. */
export function enumLabelAt(t: SqlType, sortOrder: number): string {
  const label = labelsOf(t).labelOf(sortOrder);
  if (label === undefined) throw sqlError(SQLSTATE.DATA_CORRUPTED, `stored value of enum ${t.name} has sort order ${sortOrder}, which no label has`);
  return label;
}

export function compareEnum(t: SqlType, a: string, b: string): number {
  return Math.sign(enumSortOrder(t, a) - enumSortOrder(t, b));
}

/**
 * The sort order of a label added BEFORE or AFTER a neighbour (or last when
 * neither is named), as ALTER TYPE … ADD VALUE places it.
 */
export function sortOrderForNewLabel(labels: readonly EnumLabel[], neighbour?: { readonly label: string; readonly before: boolean }): number {
  const sorted = [...labels].sort((a, b) => a.sortOrder - b.sortOrder);
  if (neighbour === undefined) return (sorted[sorted.length - 1]?.sortOrder ?? 0) + 1;
  const at = sorted.findIndex((l) => l.label === neighbour.label);
  const here = sorted[at];
  if (here === undefined) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `"${neighbour.label}" is not an existing enum label`);
  const other = sorted[neighbour.before ? at - 1 : at + 1];
  if (other === undefined) return here.sortOrder + (neighbour.before ? -1 : 1);
  const mid = (here.sortOrder + other.sortOrder) / 2;
  // Floats run out of room between two labels after ~50 insertions at one spot; PostgreSQL renumbers then, Shoal refuses.
  if (mid === here.sortOrder || mid === other.sortOrder) throw sqlError(SQLSTATE.PROGRAM_LIMIT_EXCEEDED, `no room left between enum labels "${here.label}" and "${other.label}"`);
  return mid;
}
