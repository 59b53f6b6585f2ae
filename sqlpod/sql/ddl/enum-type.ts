// CREATE TYPE … AS ENUM, ALTER TYPE … ADD VALUE / RENAME VALUE and DROP TYPE:
// PostgreSQL's enum types, which ORMs (Prisma, Rails, Django) and pg_dump
// scripts create. A type is one descriptor holding its labels and their sort
// orders (types/enums.ts); stored values are sort orders, so adding or renaming
// a label rewrites nothing.
import type { Node } from '@pgsql/types';
import { creationSchema, enumTypeOid, findEnumType, type Catalog } from '../catalog/catalog.js';
import type { EnumTypeDescriptor } from '../catalog/descriptors.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { stringsOf } from '../plan/context.js';
import { sortOrderForNewLabel } from '../types/index.js';
import type { CatalogChange } from './change.js';
import type { DdlEnv } from './index.js';

type CreateEnumNode = Extract<Node, { CreateEnumStmt: unknown }>['CreateEnumStmt'];
type AlterEnumNode = Extract<Node, { AlterEnumStmt: unknown }>['AlterEnumStmt'];
type DropNode = Extract<Node, { DropStmt: unknown }>['DropStmt'];

const MAX_LABEL_BYTES = 63;

function typeName(parts: readonly string[]): { catalog: string | undefined; schema: string | undefined; name: string } {
  return { catalog: parts.length > 2 ? parts[0] : undefined, schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name: parts[parts.length - 1] ?? '' };
}

function checkLabel(label: string): void {
  if (Buffer.byteLength(label) > MAX_LABEL_BYTES) {
    throw new SqlError(SQLSTATE.INVALID_NAME, `invalid enum label "${label}"`, { detail: `Labels must be ${MAX_LABEL_BYTES} bytes or less.` });
  }
}

export async function createEnumType(stmt: CreateEnumNode, env: DdlEnv, change: CatalogChange, checkName: (name: string) => void): Promise<string> {
  const qn = typeName(stringsOf(stmt.typeName));
  const schema = creationSchema(env.catalog, env.names, qn);
  checkName(qn.name);
  // A relation's row type has the relation's name: the two share one namespace.
  if (env.catalog.enum(schema.id, qn.name) || env.catalog.relation(schema.id, qn.name)) {
    throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `type "${qn.name}" already exists`);
  }
  const labels = stringsOf(stmt.vals);
  const seen = new Set<string>();
  for (const label of labels) {
    checkLabel(label);
    if (seen.has(label)) throw new SqlError(SQLSTATE.UNIQUE_VIOLATION, `duplicate key value violates unique constraint "pg_enum_typid_label_index"`, { detail: `Key (enumtypid, enumlabel)=(${qn.name}, ${label}) already exists.` });
    seen.add(label);
  }
  change.put({
    kind: 'enum',
    id: await change.allocateId(),
    name: qn.name,
    databaseId: env.names.databaseId,
    schemaId: schema.id,
    labels: labels.map((label, i) => ({ label, sortOrder: i + 1 })),
  });
  return 'CREATE TYPE';
}

function existingEnum(catalog: Catalog, env: DdlEnv, parts: readonly string[]): EnumTypeDescriptor {
  const qn = typeName(parts);
  const found = findEnumType(catalog, env.names, qn.schema, qn.name);
  if (!found) throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `type "${parts.join('.')}" does not exist`);
  return found;
}

export function alterEnumType(stmt: AlterEnumNode, env: DdlEnv, change: CatalogChange): string {
  const type = existingEnum(change.result(), env, stringsOf(stmt.typeName));
  const newLabel = stmt.newVal ?? '';
  const has = (label: string) => type.labels.some((l) => l.label === label);
  if (stmt.oldVal !== undefined) {
    if (!has(stmt.oldVal)) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `"${stmt.oldVal}" is not an existing enum label`);
    if (stmt.oldVal === newLabel) return 'ALTER TYPE';
    if (has(newLabel)) throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `enum label "${newLabel}" already exists`);
    checkLabel(newLabel);
    change.put({ ...type, labels: type.labels.map((l) => (l.label === stmt.oldVal ? { ...l, label: newLabel } : l)) });
    return 'ALTER TYPE';
  }
  if (has(newLabel)) {
    if (stmt.skipIfNewValExists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_OBJECT, message: `enum label "${newLabel}" already exists, skipping` });
      return 'ALTER TYPE';
    }
    throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `enum label "${newLabel}" already exists`);
  }
  checkLabel(newLabel);
  const neighbour = stmt.newValNeighbor === undefined ? undefined : { label: stmt.newValNeighbor, before: stmt.newValIsAfter !== true };
  const sortOrder = sortOrderForNewLabel(type.labels, neighbour);
  change.put({ ...type, labels: [...type.labels, { label: newLabel, sortOrder }] });
  return 'ALTER TYPE';
}

/** ALTER TYPE … RENAME TO: columns keep the type (they hold its OID). */
export function renameEnumType(parts: readonly string[], newName: string, env: DdlEnv, change: CatalogChange): string {
  const current = change.result();
  const type = existingEnum(current, env, parts);
  if (current.enum(type.schemaId, newName) || current.relation(type.schemaId, newName)) throw new SqlError(SQLSTATE.DUPLICATE_OBJECT, `type "${newName}" already exists`);
  change.put({ ...type, name: newName });
  return 'ALTER TYPE';
}

/** The columns that use a type, as PostgreSQL names them in DETAIL. */
function dependents(catalog: Catalog, type: EnumTypeDescriptor): string[] {
  const oid = enumTypeOid(type.id);
  return catalog.schemasOf(type.databaseId).flatMap((schema) => catalog.relationsOf(schema.id)).flatMap((r) => (r.kind === 'sequence' ? [] : (r.columns as readonly { name: string; typeOid: number }[]).filter((c) => c.typeOid === oid).map((c) => `column ${c.name} of ${r.kind} ${r.name} depends on type ${type.name}`)));
}

export function dropEnumTypes(stmt: DropNode, env: DdlEnv, change: CatalogChange): string {
  for (const obj of stmt.objects ?? []) {
    const parts = 'TypeName' in obj ? stringsOf(obj.TypeName.names) : [];
    const current = change.result();
    const qn = typeName(parts);
    const type = findEnumType(current, env.names, qn.schema, qn.name);
    if (!type) {
      if (stmt.missing_ok) {
        env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_OBJECT, message: `type "${parts.join('.')}" does not exist, skipping` });
        continue;
      }
      throw new SqlError(SQLSTATE.UNDEFINED_OBJECT, `type "${parts.join('.')}" does not exist`);
    }
    const uses = dependents(current, type);
    if (uses.length) {
      if (stmt.behavior === 'DROP_CASCADE') {
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `DROP TYPE ${type.name} CASCADE would drop columns that use it, which is not supported`, { detail: uses.join('\n'), hint: 'Drop or alter those columns first.' });
      }
      throw new SqlError(SQLSTATE.DEPENDENT_OBJECTS_STILL_EXIST, `cannot drop type ${type.name} because other objects depend on it`, {
        detail: uses.join('\n'),
        hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
      });
    }
    change.remove(type.id);
  }
  return 'DROP TYPE';
}

/** DROP SCHEMA … CASCADE: its enum types go with its relations. */
export function dropSchemaEnums(schemaId: number, env: DdlEnv, change: CatalogChange): void {
  const current = change.result();
  for (const type of current.enumsOf(env.names.databaseId).filter((e) => e.schemaId === schemaId)) {
    const uses = dependents(current, type);
    if (uses.length) throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `dropping type ${type.name} would drop columns of other schemas that use it, which is not supported`, { detail: uses.join('\n') });
    change.remove(type.id);
  }
}
