// CREATE SEQUENCE and ALTER SEQUENCE with PostgreSQL's options: AS, INCREMENT,
// MINVALUE / NO MINVALUE, MAXVALUE / NO MAXVALUE, START, RESTART, CACHE,
// [NO] CYCLE, OWNED BY. What pg_dump writes for every serial column
// (`CREATE SEQUENCE … AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO
// MAXVALUE CACHE 1; ALTER SEQUENCE … OWNED BY t.id`) must run.
import type { Node } from '@pgsql/types';
import { creationSchema, findRelation, resolveTable } from '../catalog/catalog.js';
import type { SequenceDescriptor } from '../catalog/descriptors.js';
import { encodeCounter } from '../catalog/keyspace.js';
import { sequenceLimits } from '../catalog/system/relations.js';
import { SQLSTATE, SqlError } from '../errors.js';
import { qualifiedName, stringsOf } from '../plan/context.js';
import { T, typeFromName } from '../types/index.js';
import type { CatalogChange } from './change.js';
import type { DdlEnv } from './index.js';

type DefElem = Extract<Node, { DefElem: unknown }>['DefElem'];

/** What the options say; absent fields keep what the sequence had (or its defaults when created). */
interface SequenceOptions {
  typeOid?: number;
  increment?: bigint;
  /** null: NO MINVALUE / NO MAXVALUE (the type's bound). */
  min?: bigint | null;
  max?: bigint | null;
  start?: bigint;
  /** RESTART: the next nextval gives this (null: the start value). */
  restart?: bigint | null;
  cache?: bigint;
  cycle?: boolean;
  /** OWNED BY table.column, or NONE (null). */
  ownedBy?: readonly string[] | null;
}

const INTEGER_TYPES = new Set<number>([T.int2.oid, T.int4.oid, T.int8.oid]);

function parseOptions(options: readonly Node[], alter: boolean): SequenceOptions {
  const out: SequenceOptions = {};
  const seen = new Set<string>();
  for (const o of options) {
    if (!('DefElem' in o)) continue;
    const d = o.DefElem;
    const name = d.defname ?? '';
    if (seen.has(name)) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'conflicting or redundant options');
    seen.add(name);
    switch (name) {
      case 'as': {
        const typeName = d.arg && 'TypeName' in d.arg ? d.arg.TypeName : undefined;
        const type = typeFromName(stringsOf(typeName?.names), []);
        if (!INTEGER_TYPES.has(type.oid)) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'sequence type must be smallint, integer, or bigint');
        out.typeOid = type.oid;
        break;
      }
      case 'increment':
        out.increment = integerArg(d);
        if (out.increment === 0n) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'INCREMENT must not be zero');
        break;
      case 'minvalue':
        out.min = d.arg ? integerArg(d) : null;
        break;
      case 'maxvalue':
        out.max = d.arg ? integerArg(d) : null;
        break;
      case 'start':
        out.start = integerArg(d);
        break;
      case 'restart':
        if (!alter) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'RESTART is only allowed in ALTER SEQUENCE');
        out.restart = d.arg ? integerArg(d) : null;
        break;
      case 'cache':
        out.cache = integerArg(d);
        if (out.cache < 1n) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `CACHE (${out.cache}) must be greater than zero`);
        break;
      case 'cycle':
        out.cycle = d.arg !== undefined && 'Boolean' in d.arg ? (d.arg.Boolean.boolval ?? false) : true;
        break;
      case 'owned_by': {
        const list = d.arg && 'List' in d.arg ? (d.arg.List.items ?? []) : [];
        const parts = list.map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
        out.ownedBy = parts.length === 1 && parts[0]?.toLowerCase() === 'none' ? null : parts;
        break;
      }
      default:
        throw new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `sequence option ${name} is not supported`);
    }
  }
  return out;
}

function integerArg(d: DefElem): bigint {
  const arg = d.arg;
  if (arg && 'Integer' in arg) return BigInt(arg.Integer.ival ?? 0);
  if (arg && 'Float' in arg && /^-?\d+$/.test(arg.Float.fval ?? '')) return BigInt(arg.Float.fval ?? '0');
  throw new SqlError(SQLSTATE.SYNTAX_ERROR, `${d.defname ?? 'option'} requires an integer value`);
}

/** PostgreSQL's checks of a sequence's settings (init_params), in its order and words. */
function checked(s: SequenceDescriptor): SequenceDescriptor {
  const { typeMin, typeMax, min, max } = sequenceLimits(s);
  const typeName = s.typeOid === T.int2.oid ? 'smallint' : s.typeOid === T.int4.oid ? 'integer' : 'bigint';
  if (max > typeMax || max < typeMin) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `MAXVALUE (${max}) is out of range for sequence data type ${typeName}`);
  if (min > typeMax || min < typeMin) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `MINVALUE (${min}) is out of range for sequence data type ${typeName}`);
  if (min >= max) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `MINVALUE (${min}) must be less than MAXVALUE (${max})`);
  const start = BigInt(s.start);
  if (start < min) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `START value (${start}) cannot be less than MINVALUE (${min})`);
  if (start > max) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `START value (${start}) cannot be greater than MAXVALUE (${max})`);
  return s;
}

/** The options applied over `base`; START follows the bounds when it was never given. */
function applied(base: SequenceDescriptor, o: SequenceOptions, explicitStart: boolean, env: DdlEnv): SequenceDescriptor {
  const next: SequenceDescriptor = { ...base };
  if (o.typeOid !== undefined) next.typeOid = o.typeOid;
  if (o.increment !== undefined) next.increment = String(o.increment);
  if (o.min !== undefined) next.min = o.min === null ? null : String(o.min);
  if (o.max !== undefined) next.max = o.max === null ? null : String(o.max);
  if (o.cycle !== undefined) next.cycle = o.cycle;
  if (o.cache !== undefined) next.cache = String(o.cache);
  if (o.ownedBy !== undefined) next.ownedBy = o.ownedBy === null ? null : ownerOf(o.ownedBy, next, env);
  if (o.start !== undefined) next.start = String(o.start);
  else if (!explicitStart) {
    // A new sequence starts at its MINVALUE going up, at its MAXVALUE going down.
    const { min, max } = sequenceLimits(next);
    next.start = String(BigInt(next.increment) > 0n ? min : max);
  }
  return checked(next);
}

function ownerOf(parts: readonly string[], sequence: SequenceDescriptor, env: DdlEnv): { tableId: number; columnId: number } {
  if (parts.length < 2) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'invalid OWNED BY option', { hint: 'Specify OWNED BY table.column or OWNED BY NONE.' });
  const column = parts[parts.length - 1] ?? '';
  const tableParts = parts.slice(0, -1);
  const table = resolveTable(env.catalog, env.names, { schema: tableParts.length > 1 ? tableParts[tableParts.length - 2] : undefined, name: tableParts[tableParts.length - 1] ?? '' }, undefined);
  if (table.schemaId !== sequence.schemaId) throw new SqlError(SQLSTATE.OBJECT_NOT_IN_PREREQUISITE_STATE, 'sequence must be in same schema as table it is linked to');
  const col = table.columns.find((c) => c.name === column && !c.hidden);
  if (!col) throw new SqlError(SQLSTATE.UNDEFINED_COLUMN, `column "${column}" of relation "${table.name}" does not exist`);
  return { tableId: table.id, columnId: col.id };
}

export async function createSequence(stmt: Extract<Node, { CreateSeqStmt: unknown }>['CreateSeqStmt'], env: DdlEnv, change: CatalogChange, checkName: (name: string, location: number | undefined) => void): Promise<string> {
  const rv = stmt.sequence ?? {};
  const qn = qualifiedName(rv);
  const schema = creationSchema(env.catalog, env.names, qn);
  checkName(qn.name, rv.location);
  if (env.catalog.relation(schema.id, qn.name)) {
    if (stmt.if_not_exists) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.DUPLICATE_TABLE, message: `relation "${qn.name}" already exists, skipping` });
      return 'CREATE SEQUENCE';
    }
    throw new SqlError(SQLSTATE.DUPLICATE_TABLE, `relation "${qn.name}" already exists`);
  }
  const options = parseOptions(stmt.options ?? [], false);
  const base: SequenceDescriptor = { kind: 'sequence', id: await change.allocateId(), name: qn.name, databaseId: env.names.databaseId, schemaId: schema.id, start: '1', increment: '1', ownedBy: null };
  change.put(applied(base, options, false, env));
  return 'CREATE SEQUENCE';
}

export function alterSequence(stmt: Extract<Node, { AlterSeqStmt: unknown }>['AlterSeqStmt'], env: DdlEnv, change: CatalogChange): string {
  const rv = stmt.sequence ?? {};
  const qn = qualifiedName(rv);
  const rel = findRelation(env.catalog, env.names, qn);
  if (!rel) {
    if (stmt.missing_ok) {
      env.notice({ severity: 'NOTICE', code: SQLSTATE.UNDEFINED_TABLE, message: `relation "${qn.name}" does not exist, skipping` });
      return 'ALTER SEQUENCE';
    }
    throw new SqlError(SQLSTATE.UNDEFINED_TABLE, `relation "${qn.name}" does not exist`);
  }
  if (rel.kind !== 'sequence') throw new SqlError(SQLSTATE.WRONG_OBJECT_TYPE, `"${rel.name}" is not a sequence`);
  const options = parseOptions(stmt.options ?? [], true);
  const next = applied(rel, options, true, env);
  change.put(next);
  if (options.restart !== undefined) {
    const value = options.restart ?? BigInt(next.start);
    const { min, max } = sequenceLimits(next);
    if (value < min) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `RESTART value (${value}) cannot be less than MINVALUE (${min})`);
    if (value > max) throw new SqlError(SQLSTATE.INVALID_PARAMETER_VALUE, `RESTART value (${value}) cannot be greater than MAXVALUE (${max})`);
    // Stored as the value before the next one, as setval(…, false) stores it.
    env.txn.put(env.ks.sequenceKey(next.id), encodeCounter(value - BigInt(next.increment)));
  }
  return 'ALTER SEQUENCE';
}
