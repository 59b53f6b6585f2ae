// What the catalog stores: one descriptor per database, schema, table and
// sequence, as JSON in the tenant's descriptor table, validated on every read
// (a descriptor written by another pod is input from outside this process).
import { z } from 'zod';

const id = z.number().int().positive();
const name = z.string().min(1).max(63);

export const columnSchema = z.object({
  id,
  name,
  typeOid: z.number().int().nonnegative(),
  typmod: z.number().int(),
  notNull: z.boolean(),
  /** SQL text of the DEFAULT expression, re-analyzed when used. */
  defaultExpr: z.string().nullable(),
  /** The hidden row id of a table created without a primary key. */
  hidden: z.boolean(),
  /** Value of rows written before the column existed (ADD COLUMN … DEFAULT), value-encoded, base64. */
  missingValue: z.string().nullable(),
});
export type ColumnDescriptor = z.infer<typeof columnSchema>;

export const indexSchema = z.object({
  id,
  name,
  unique: z.boolean(),
  columnIds: z.array(id).min(1),
  descending: z.array(z.boolean()),
});
export type IndexDescriptor = z.infer<typeof indexSchema>;

/** `notValid`: added NOT VALID and not yet validated, so rows older than it may break it (pg_constraint.convalidated). */
export const checkSchema = z.object({ name, expr: z.string(), notValid: z.literal(true).optional() });
export type CheckDescriptor = z.infer<typeof checkSchema>;

/** What happens to referencing rows when the referenced key goes or changes: pg_constraint's letters (a no action, r restrict, c cascade, n set null, d set default). */
export const referentialActionSchema = z.enum(['a', 'r', 'c', 'n', 'd']);
export type ReferentialAction = z.infer<typeof referentialActionSchema>;

/** A FOREIGN KEY (not deferrable), kept on the referencing table. */
export const foreignKeySchema = z.object({
  name,
  columnIds: z.array(id).min(1),
  refTableId: id,
  /** In the order of columnIds; they are the columns of refTable's primary key or of one of its unique indexes. */
  refColumnIds: z.array(id).min(1),
  onDelete: referentialActionSchema,
  onUpdate: referentialActionSchema,
  /** MATCH FULL ('f'): NULL in some referencing columns but not all is an error. Absent: MATCH SIMPLE. */
  match: z.literal('f').optional(),
  /** Added NOT VALID and not yet validated: rows older than it may reference nothing. */
  notValid: z.literal(true).optional(),
});
export type ForeignKeyDescriptor = z.infer<typeof foreignKeySchema>;

export const databaseSchema = z.object({ kind: z.literal('database'), id, name });
export const schemaSchema = z.object({ kind: z.literal('schema'), id, name, databaseId: id });
export const tableSchema = z.object({
  kind: z.literal('table'),
  id,
  name,
  databaseId: id,
  schemaId: id,
  columns: z.array(columnSchema),
  /** Index id 1; its columns are the row's key. */
  primaryKey: indexSchema,
  indexes: z.array(indexSchema),
  checks: z.array(checkSchema),
  /** Absent means none (descriptors written before foreign keys existed, tables built by hand in tests). */
  foreignKeys: z.array(foreignKeySchema).optional(),
  nextColumnId: id,
  nextIndexId: id,
});
export const sequenceSchema = z.object({
  kind: z.literal('sequence'),
  id,
  name,
  databaseId: id,
  schemaId: id,
  start: z.string(),
  increment: z.string(),
  /** Set for the sequence behind a serial column: dropped with its table. */
  ownedBy: z.object({ tableId: id, columnId: id }).nullable(),
  /** AS smallint / integer / bigint; absent in older descriptors (then the owning column's type, or bigint). */
  typeOid: z.number().int().optional(),
  /** MINVALUE / MAXVALUE; null or absent: the type's bound in the sequence's direction. */
  min: z.string().nullable().optional(),
  max: z.string().nullable().optional(),
  cycle: z.boolean().optional(),
  /** CACHE: kept for pg_sequences; every nextval is one KV transaction whatever it says. */
  cache: z.string().optional(),
});
export const viewSchema = z.object({
  kind: z.literal('view'),
  id,
  name,
  databaseId: id,
  schemaId: id,
  /** The SELECT as parse-tree JSON without positions, its table names qualified with the schema they named at creation. */
  query: z.string(),
  columns: z.array(
    z.object({
      name,
      /** The name the query gives the column (the view may rename it): a check that re-planning still finds it. */
      sourceName: name,
      typeOid: z.number().int().nonnegative(),
      typmod: z.number().int(),
    }),
  ),
  /** Tables and views the query names: they cannot be dropped from under it. */
  dependsOn: z.array(id),
});
/** An enum type (CREATE TYPE … AS ENUM); the only user-defined types Shoal has. */
export const enumTypeSchema = z.object({
  kind: z.literal('enum'),
  id,
  name,
  databaseId: id,
  schemaId: id,
  /** pg_enum's rows: a value is stored and keyed by its label's sortOrder (see types/enums.ts). */
  labels: z.array(z.object({ label: z.string().max(63), sortOrder: z.number() })),
});
export const descriptorSchema = z.discriminatedUnion('kind', [databaseSchema, schemaSchema, tableSchema, sequenceSchema, viewSchema, enumTypeSchema]);

export type DatabaseDescriptor = z.infer<typeof databaseSchema>;
export type SchemaDescriptor = z.infer<typeof schemaSchema>;
export type TableDescriptor = z.infer<typeof tableSchema>;
export type SequenceDescriptor = z.infer<typeof sequenceSchema>;
export type ViewDescriptor = z.infer<typeof viewSchema>;
export type EnumTypeDescriptor = z.infer<typeof enumTypeSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;

export const roleSchema = z.object({
  name,
  scramVerifier: z.string().nullable(),
  canLogin: z.boolean(),
  superuser: z.boolean(),
});
export type RoleDescriptor = z.infer<typeof roleSchema>;

/** The primary index's id; secondary indexes count up from 2. */
export const PRIMARY_INDEX_ID = 1;
export const HIDDEN_ROWID = 'rowid';
