// pg_class, pg_index, pg_am, pg_attribute, pg_attrdef, pg_constraint,
// pg_sequence, pg_depend: the tenant's tables, views, sequences and indexes
// of the current database, as PostgreSQL's catalogs describe them.
import { T, type SqlType } from '../../types/index.js';
import { referencedIndex, type Catalog, type Relation } from '../catalog.js';
import type { ColumnDescriptor, IndexDescriptor, SequenceDescriptor, TableDescriptor } from '../descriptors.js';
import { columns } from './columns.js';
import { exprEnvelope } from './deparse.js';
import { OID, attrdefOid, checkOid, foreignKeyOid, indexOid, ownerOid, type SystemRow, type SystemView } from './view.js';

export const PG_CLASS_COLUMNS = columns(`
  oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid
  reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool
  relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2 relhasrules:bool
  relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool relispopulated:bool
  relreplident:char relispartition:bool relrewrite:oid relfrozenxid:xid relminmxid:xid relacl:array
  reloptions:array relpartbound:node`);

/** The relations of the current database, in descriptor order. */
export function relationsOf(view: SystemView): Relation[] {
  const out: Relation[] = [];
  for (const d of view.catalog.descriptors) {
    if ((d.kind === 'table' || d.kind === 'view' || d.kind === 'sequence') && d.databaseId === view.databaseId) out.push(d);
  }
  return out;
}

/** A table created without a primary key is keyed by its hidden rowid: PostgreSQL would show no index at all. */
export function visibleIndexes(table: TableDescriptor): IndexDescriptor[] {
  const hiddenKey = table.primaryKey.columnIds.every((id) => table.columns.find((c) => c.id === id)?.hidden);
  return hiddenKey ? table.indexes : [table.primaryKey, ...table.indexes];
}

export function isPrimary(table: TableDescriptor, index: IndexDescriptor): boolean {
  return index.id === table.primaryKey.id;
}

/** attnum of a column: its position among all the table's columns, as RowDescription reports it. */
export function attnum(table: TableDescriptor, columnId: number): number {
  return table.columns.findIndex((c) => c.id === columnId) + 1;
}

const BASE_CLASS: SystemRow = {
  reltype: 0,
  reloftype: 0,
  reltablespace: 0,
  relpages: 0,
  reltuples: -1,
  relallvisible: 0,
  reltoastrelid: 0,
  relhasindex: false,
  relisshared: false,
  relpersistence: 'p',
  relchecks: 0,
  relhasrules: false,
  // Shoal has no triggers, but PostgreSQL's foreign keys are (internal) triggers: true on both sides of one,
  // and psql reads foreign keys only when it is.
  relhastriggers: false,
  relhassubclass: false,
  relrowsecurity: false,
  relforcerowsecurity: false,
  relispopulated: true,
  relreplident: 'd',
  relispartition: false,
  relrewrite: 0,
  relfrozenxid: 0n,
  relminmxid: 0n,
};

export function pgClassRows(view: SystemView): SystemRow[] {
  const owner = ownerOid(view);
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    const base = { ...BASE_CLASS, oid: r.id, relname: r.name, relnamespace: r.schemaId, relowner: owner, relfilenode: r.id };
    if (r.kind === 'table') {
      const indexes = visibleIndexes(r);
      const relhastriggers = (r.foreignKeys?.length ?? 0) > 0 || view.catalog.referencing(r.id).length > 0;
      rows.push({ ...base, relam: OID.heapAm, relkind: 'r', relnatts: r.columns.filter((c) => !c.hidden).length, relchecks: r.checks.length, relhasindex: indexes.length > 0, relhastriggers });
      for (const index of indexes) {
        rows.push({ ...base, oid: indexOid(r.id, index.id), relname: index.name, relfilenode: indexOid(r.id, index.id), relam: OID.btreeAm, relkind: 'i', relnatts: index.columnIds.length });
      }
    } else if (r.kind === 'view') {
      rows.push({ ...base, relam: 0, relkind: 'v', relnatts: r.columns.length, relfilenode: 0 });
    } else {
      rows.push({ ...base, relam: 0, relkind: 'S', relnatts: 3 });
    }
  }
  return rows;
}

export const PG_INDEX_COLUMNS = columns(`
  indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool
  indisprimary:bool indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool
  indcheckxmin:bool indisready:bool indislive:bool indisreplident:bool indkey:text indcollation:text
  indclass:text indoption:text indexprs:node indpred:node`);

export function pgIndexRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind !== 'table') continue;
    for (const index of visibleIndexes(r)) {
      const n = index.columnIds.length;
      rows.push({
        indexrelid: indexOid(r.id, index.id),
        indrelid: r.id,
        indnatts: n,
        indnkeyatts: n,
        indisunique: index.unique,
        indnullsnotdistinct: false,
        indisprimary: isPrimary(r, index),
        indisexclusion: false,
        indimmediate: true,
        indisclustered: false,
        indisvalid: true,
        indcheckxmin: false,
        indisready: true,
        indislive: true,
        indisreplident: false,
        // int2vector and oidvector print as space-separated numbers.
        indkey: index.columnIds.map((id) => attnum(r, id)).join(' '),
        indcollation: index.columnIds.map((id) => collationOf(columnType(view, r.columns.find((c) => c.id === id)))).join(' '),
        indclass: index.columnIds.map(() => '0').join(' '),
        // INDOPTION_DESC | INDOPTION_NULLS_FIRST: DESC sorts NULLs first by default.
        indoption: index.descending.map((d) => (d ? '3' : '0')).join(' '),
      });
    }
  }
  return rows;
}

export const PG_AM_COLUMNS = columns('oid:oid amname:name amhandler:regproc amtype:char');

export function pgAmRows(): SystemRow[] {
  return [
    { oid: OID.heapAm, amname: 'heap', amhandler: 'heap_tableam_handler', amtype: 't' },
    { oid: OID.btreeAm, amname: 'btree', amhandler: 'bthandler', amtype: 'i' },
  ];
}

export const PG_ATTRIBUTE_COLUMNS = columns(`
  attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2 attndims:int4
  attcacheoff:int4 atttypmod:int4 attbyval:bool attalign:char attstorage:char attcompression:char
  attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char attisdropped:bool
  attislocal:bool attinhcount:int4 attcollation:oid attacl:array attoptions:array attfdwoptions:array
  attmissingval:array`);

export function columnType(view: SystemView, c: { typeOid: number; typmod: number } | undefined): SqlType {
  const t = c ? view.catalog.sqlType(c.typeOid) : undefined;
  return t && c ? { ...t, typmod: c.typmod } : T.unknown;
}

/** The collation a column of this type has: string types collate; name is "C" as in PostgreSQL 12+. */
export function collationOf(t: SqlType): number {
  if (t.oid === T.name.oid) return OID.cCollation;
  return t.category === 'S' ? OID.defaultCollation : 0;
}

function attribute(relid: number, num: number, name: string, t: SqlType, extra: SystemRow): SystemRow {
  return {
    attrelid: relid,
    attname: name,
    atttypid: t.oid,
    attstattarget: -1,
    attlen: t.typeSize,
    attnum: num,
    attndims: 0,
    attcacheoff: -1,
    atttypmod: t.typmod,
    attbyval: t.typeSize > 0 && t.typeSize <= 8,
    attalign: t.typeSize === 8 ? 'd' : t.typeSize === 2 ? 's' : t.typeSize === 1 ? 'c' : 'i',
    attstorage: t.typeSize < 0 ? 'x' : 'p',
    attcompression: '',
    attnotnull: false,
    atthasdef: false,
    atthasmissing: false,
    attidentity: '',
    attgenerated: '',
    attisdropped: false,
    attislocal: true,
    attinhcount: 0,
    attcollation: collationOf(t),
    ...extra,
  };
}

function hasVisibleDefault(c: ColumnDescriptor): boolean {
  return c.defaultExpr !== null && !c.hidden;
}

export function pgAttributeRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind === 'table') {
      const key = new Set(r.primaryKey.columnIds);
      r.columns.forEach((c, i) => {
        if (c.hidden) return;
        rows.push(attribute(r.id, i + 1, c.name, columnType(view, c), { attnotnull: c.notNull || key.has(c.id), atthasdef: hasVisibleDefault(c), atthasmissing: c.missingValue !== null }));
      });
      // An index has a column per key column, as in PostgreSQL (psql's \d <index> lists them).
      for (const index of visibleIndexes(r)) {
        index.columnIds.forEach((id, i) => {
          const c = r.columns.find((x) => x.id === id);
          if (c) rows.push(attribute(indexOid(r.id, index.id), i + 1, c.name, columnType(view, c), {}));
        });
      }
    } else if (r.kind === 'view') {
      r.columns.forEach((c, i) => rows.push(attribute(r.id, i + 1, c.name, columnType(view, c), {})));
    } else {
      // What a sequence reads as, like PostgreSQL's: SELECT * FROM seq.
      rows.push(attribute(r.id, 1, 'last_value', T.int8, { attnotnull: true }));
      rows.push(attribute(r.id, 2, 'log_cnt', T.int8, { attnotnull: true }));
      rows.push(attribute(r.id, 3, 'is_called', T.bool, { attnotnull: true }));
    }
  }
  return rows;
}

export const PG_ATTRDEF_COLUMNS = columns('oid:oid adrelid:oid adnum:int2 adbin:node');

/** adbin holds what Shoal's pg_get_expr prints from (./deparse.ts). */
export function pgAttrdefRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind !== 'table') continue;
    r.columns.forEach((c, i) => {
      if (!hasVisibleDefault(c) || c.defaultExpr === null) return;
      rows.push({ oid: attrdefOid(r.id, i + 1), adrelid: r.id, adnum: i + 1, adbin: exprEnvelope(c.defaultExpr, columnType(view, c)) });
    });
  }
  return rows;
}

export const PG_CONSTRAINT_COLUMNS = columns(`
  oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool
  conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid confupdtype:char confdeltype:char
  confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool conkey:array confkey:array
  conpfeqop:array conppeqop:array conffeqop:array confdelsetcols:array conexclop:array conbin:node`);

const BASE_CONSTRAINT: SystemRow = {
  condeferrable: false,
  condeferred: false,
  convalidated: true,
  contypid: 0,
  conindid: 0,
  conparentid: 0,
  confrelid: 0,
  confupdtype: ' ',
  confdeltype: ' ',
  confmatchtype: ' ',
  conislocal: true,
  coninhcount: 0,
  connoinherit: false,
};

/**
 * Primary keys, CHECK and FOREIGN KEY constraints. A unique index is not a constraint:
 * Shoal does not record whether it came from UNIQUE or CREATE UNIQUE INDEX.
 */
export function pgConstraintRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind !== 'table') continue;
    const base = { ...BASE_CONSTRAINT, connamespace: r.schemaId, conrelid: r.id };
    if (visibleIndexes(r).some((i) => isPrimary(r, i))) {
      const oid = indexOid(r.id, r.primaryKey.id);
      rows.push({ ...base, oid, conname: r.primaryKey.name, contype: 'p', conindid: oid, conkey: `{${r.primaryKey.columnIds.map((id) => attnum(r, id)).join(',')}}` });
    }
    r.checks.forEach((check, i) => {
      rows.push({ ...base, oid: checkOid(r.id, i), conname: check.name, contype: 'c', convalidated: check.notValid !== true, conbin: exprEnvelope(check.expr) });
    });
    (r.foreignKeys ?? []).forEach((fk, i) => {
      const parent = view.catalog.table(fk.refTableId);
      const index = parent && referencedIndex(parent, fk.refColumnIds);
      rows.push({
        ...base,
        oid: foreignKeyOid(r.id, i),
        conname: fk.name,
        contype: 'f',
        convalidated: fk.notValid !== true,
        conindid: parent && index ? indexOid(parent.id, index.id) : 0,
        confrelid: fk.refTableId,
        confupdtype: fk.onUpdate,
        confdeltype: fk.onDelete,
        confmatchtype: fk.match ?? 's',
        conkey: `{${fk.columnIds.map((id) => attnum(r, id)).join(',')}}`,
        confkey: parent ? `{${fk.refColumnIds.map((id) => attnum(parent, id)).join(',')}}` : null,
      });
    });
  }
  return rows;
}

export const PG_SEQUENCE_COLUMNS = columns('seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool');

export interface SequenceLimits {
  readonly typeOid: number;
  readonly typeMin: bigint;
  readonly typeMax: bigint;
  /** MINVALUE and MAXVALUE in effect (the type's bound in the sequence's direction unless set). */
  readonly min: bigint;
  readonly max: bigint;
  readonly cycle: boolean;
}

/** A sequence's type and bounds from its descriptor; `typeOid` when the descriptor has none. */
export function sequenceLimits(s: SequenceDescriptor, typeOid: number = T.int8.oid): SequenceLimits {
  const type = s.typeOid ?? typeOid;
  const bits = type === T.int2.oid ? 15n : type === T.int4.oid ? 31n : 63n;
  const [typeMin, typeMax] = [-(2n ** bits), 2n ** bits - 1n];
  const up = BigInt(s.increment) > 0n;
  const min = s.min != null ? BigInt(s.min) : up ? 1n : typeMin;
  const max = s.max != null ? BigInt(s.max) : up ? typeMax : -1n;
  return { typeOid: type, typeMin, typeMax, min, max, cycle: s.cycle ?? false };
}

/** sequenceLimits; an older descriptor without AS has its serial column's type, as PostgreSQL creates it (AS integer for serial). */
export function sequenceBounds(catalog: Catalog, s: SequenceDescriptor): SequenceLimits {
  const owner = s.ownedBy && catalog.table(s.ownedBy.tableId)?.columns.find((c) => c.id === s.ownedBy?.columnId);
  return sequenceLimits(s, owner && (owner.typeOid === T.int2.oid || owner.typeOid === T.int4.oid) ? owner.typeOid : T.int8.oid);
}

export function pgSequenceRows(view: SystemView): SystemRow[] {
  return relationsOf(view)
    .filter((r): r is SequenceDescriptor => r.kind === 'sequence')
    .map((s) => {
      const bounds = sequenceBounds(view.catalog, s);
      return {
        seqrelid: s.id,
        seqtypid: bounds.typeOid,
        seqstart: BigInt(s.start),
        seqincrement: BigInt(s.increment),
        seqmax: bounds.max,
        seqmin: bounds.min,
        seqcache: BigInt(s.cache ?? '1'),
        seqcycle: bounds.cycle,
      };
    });
}

export const PG_DEPEND_COLUMNS = columns('classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char');

/** Only what clients read: a serial column's sequence belongs to it ('a', auto). */
export function pgDependRows(view: SystemView): SystemRow[] {
  const rows: SystemRow[] = [];
  for (const r of relationsOf(view)) {
    if (r.kind !== 'sequence' || !r.ownedBy) continue;
    const table = view.catalog.table(r.ownedBy.tableId);
    if (!table) continue;
    rows.push({ classid: OID.pgClass, objid: r.id, objsubid: 0, refclassid: OID.pgClass, refobjid: table.id, refobjsubid: attnum(table, r.ownedBy.columnId), deptype: 'a' });
  }
  return rows;
}
