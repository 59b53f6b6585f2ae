import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser, parseStatements } from '../../parser/index.js';
import { T, typeByOid, withTypmod } from '../../types/index.js';
import { Catalog } from '../catalog.js';
import type { Descriptor, RoleDescriptor, TableDescriptor } from '../descriptors.js';
import { formatArrayText, parseArrayText } from './arrays.js';
import { pgDatabaseRows } from './databases.js';
import { checkDefinition, deparseStored, envelopeText, indexDefinition } from './deparse.js';
import { columnsRows, tablesRows } from './information-schema.js';
import { pgNamespaceRows, searchSchemaIds } from './namespaces.js';
import { rowValues, SYSTEM_TABLES, systemTable } from './registry.js';
import { pgAttrdefRows, pgAttributeRows, pgClassRows, pgConstraintRows, pgIndexRows, pgSequenceRows } from './relations.js';
import { pgRolesRows } from './roles.js';
import { OID, checkOfOid, indexOfOid, indexOid, ownerName, roleNameByOid, roleOid, type SystemView } from './view.js';

/** A stored expression as DDL stores it: the parse tree without positions. */
function stored(sql: string): string {
  const [stmt] = parseStatements(`SELECT ${sql}`);
  if (!stmt || !('SelectStmt' in stmt.node)) throw new Error('not a SELECT');
  const target = stmt.node.SelectStmt.targetList?.[0];
  if (!target || !('ResTarget' in target) || !target.ResTarget.val) throw new Error('no expression');
  return JSON.stringify(target.ResTarget.val, (key, value: unknown) => (key === 'location' ? undefined : value));
}

const col = (id: number, name: string, typeOid: number, extra: Partial<TableDescriptor['columns'][number]> = {}) => ({
  id,
  name,
  typeOid,
  typmod: -1,
  notNull: false,
  defaultExpr: null,
  hidden: false,
  missingValue: null,
  ...extra,
});

const typeOf = (oid: number, typmod: number) => {
  const t = typeByOid(oid);
  return t && withTypmod(t, typmod);
};
/** pg_get_expr of an adbin or conbin value. */
const getExpr = (v: unknown, pretty = false) => envelopeText(v as string, pretty, typeOf);

let view: SystemView;
let t1: TableDescriptor;
let heap: TableDescriptor;

beforeAll(async () => {
  await loadParser();
  t1 = {
    kind: 'table',
    id: 104,
    name: 't1',
    databaseId: 100,
    schemaId: 101,
    columns: [
      col(1, 'id', T.int4.oid, { notNull: true, defaultExpr: stored("nextval('t1_id_seq')") }),
      col(2, 'name', T.text.oid, { notNull: true, defaultExpr: stored("'x'") }),
      col(3, 'v', T.int4.oid),
      col(4, 'label', T.varchar.oid, { typmod: 24 }),
    ],
    primaryKey: { id: 1, name: 't1_pkey', unique: true, columnIds: [1], descending: [false] },
    indexes: [{ id: 2, name: 't1_name', unique: true, columnIds: [2, 3], descending: [false, true] }],
    checks: [{ name: 't1_v_check', expr: stored('v > 0') }],
    nextColumnId: 5,
    nextIndexId: 3,
  };
  heap = {
    kind: 'table',
    id: 106,
    name: 'heap',
    databaseId: 100,
    schemaId: 101,
    columns: [col(1, 'a', T.int8.oid), col(2, 'rowid', T.int8.oid, { hidden: true, notNull: true, defaultExpr: stored('unique_rowid()') })],
    primaryKey: { id: 1, name: 'heap_pkey', unique: true, columnIds: [2], descending: [false] },
    indexes: [],
    checks: [],
    nextColumnId: 3,
    nextIndexId: 2,
  };
  const descriptors: Descriptor[] = [
    { kind: 'database', id: 100, name: 'defaultdb' },
    { kind: 'schema', id: 101, name: 'public', databaseId: 100 },
    { kind: 'database', id: 102, name: 'postgres' },
    { kind: 'schema', id: 103, name: 'public', databaseId: 102 },
    t1,
    { kind: 'sequence', id: 105, name: 't1_id_seq', databaseId: 100, schemaId: 101, start: '1', increment: '1', ownedBy: { tableId: 104, columnId: 1 } },
    heap,
    {
      kind: 'view',
      id: 107,
      name: 'v1',
      databaseId: 100,
      schemaId: 101,
      query: '{}',
      columns: [{ name: 'id', sourceName: 'id', typeOid: T.int4.oid, typmod: -1 }],
      dependsOn: [104],
    },
    { kind: 'table', id: 108, name: 'other', databaseId: 102, schemaId: 103, columns: [col(1, 'k', T.int4.oid)], primaryKey: { id: 1, name: 'other_pkey', unique: true, columnIds: [1], descending: [false] }, indexes: [], checks: [], nextColumnId: 2, nextIndexId: 2 },
  ];
  const roles = new Map<string, RoleDescriptor>([
    ['zed', { name: 'zed', scramVerifier: null, canLogin: true, superuser: false }],
    ['admin', { name: 'admin', scramVerifier: null, canLogin: true, superuser: true }],
  ]);
  view = { catalog: new Catalog(1n, descriptors, roles), databaseId: 100, user: 'zed', searchPath: ['"$user"', 'public'] };
});

describe('OIDs', () => {
  it('map indexes and checks back to their table', () => {
    expect(indexOfOid(view, indexOid(104, 2))?.index.name).toBe('t1_name');
    expect(indexOfOid(view, 104)).toBeUndefined();
    expect(checkOfOid(view, pgConstraintRows(view).find((r) => r.contype === 'c')?.oid as number)?.position).toBe(0);
  });
  it('give roles a stable OID from their name', () => {
    expect(roleOid('admin')).toBe(roleOid('admin'));
    expect(roleOid('admin')).not.toBe(roleOid('zed'));
    expect(roleNameByOid(view, roleOid('zed'))).toBe('zed');
  });
  it('make the first superuser the owner of everything', () => expect(ownerName(view)).toBe('admin'));
});

describe('pg_class', () => {
  it('lists the current database’s relations and visible indexes with PostgreSQL’s relkinds', () => {
    const rows = pgClassRows(view).map((r) => [r.oid, r.relname, r.relkind, r.relnamespace, r.relhasindex, r.relchecks, r.relnatts]);
    expect(rows).toEqual([
      [104, 't1', 'r', 101, true, 1, 4],
      [indexOid(104, 1), 't1_pkey', 'i', 101, false, 0, 1],
      [indexOid(104, 2), 't1_name', 'i', 101, false, 0, 2],
      [105, 't1_id_seq', 'S', 101, false, 0, 3],
      // The hidden rowid key is not an index PostgreSQL would have.
      [106, 'heap', 'r', 101, false, 0, 1],
      [107, 'v1', 'v', 101, false, 0, 1],
    ]);
    expect(new Set(pgClassRows(view).map((r) => r.relowner))).toEqual(new Set([roleOid('admin')]));
  });
});

describe('pg_index and pg_constraint', () => {
  it('describe keys, uniqueness and DESC columns', () => {
    expect(pgIndexRows(view).map((r) => [r.indexrelid, r.indrelid, r.indisprimary, r.indisunique, r.indkey, r.indoption])).toEqual([
      [indexOid(104, 1), 104, true, true, '1', '0'],
      [indexOid(104, 2), 104, false, true, '2 3', '0 3'],
    ]);
  });
  it('has the primary key and checks, not unique indexes', () => {
    expect(pgConstraintRows(view).map((r) => [r.conname, r.contype, r.conrelid, r.conindid, r.conkey ?? null, r.conbin ? getExpr(r.conbin) : null])).toEqual([
      ['t1_pkey', 'p', 104, indexOid(104, 1), '{1}', null],
      ['t1_v_check', 'c', 104, 0, null, '(v > 0)'],
    ]);
  });
});

describe('pg_attribute and pg_attrdef', () => {
  it('number columns as RowDescription does, leave out hidden ones, and mark key columns NOT NULL', () => {
    const rows = pgAttributeRows(view).filter((r) => r.attrelid === 104 || r.attrelid === 106);
    expect(rows.map((r) => [r.attrelid, r.attnum, r.attname, r.atttypid, r.atttypmod, r.attnotnull, r.atthasdef, r.attcollation])).toEqual([
      [104, 1, 'id', T.int4.oid, -1, true, true, 0],
      [104, 2, 'name', T.text.oid, -1, true, true, OID.defaultCollation],
      [104, 3, 'v', T.int4.oid, -1, false, false, 0],
      [104, 4, 'label', T.varchar.oid, 24, false, false, OID.defaultCollation],
      [106, 1, 'a', T.int8.oid, -1, false, false, 0],
    ]);
  });
  it('gives indexes a column per key column', () => {
    expect(pgAttributeRows(view).filter((r) => r.attrelid === indexOid(104, 2)).map((r) => [r.attnum, r.attname, r.atttypid])).toEqual([
      [1, 'name', T.text.oid],
      [2, 'v', T.int4.oid],
    ]);
  });
  it('prints defaults as pg_get_expr does', () => {
    expect(pgAttrdefRows(view).map((r) => [r.adrelid, r.adnum, getExpr(r.adbin)])).toEqual([
      [104, 1, "nextval('t1_id_seq'::regclass)"],
      [104, 2, "'x'::text"],
    ]);
  });
});

describe('deparse', () => {
  it('prints expressions as ruleutils does', () => {
    expect(deparseStored(stored("'it''s'"), { ...T.varchar, typmod: 14 })).toBe("'it''s'::character varying");
    expect(deparseStored(stored('42'), T.int8)).toBe('42');
    // String literals folded to the column's type, as PostgreSQL 17 prints them.
    const folded: [string, typeof T.int4, string][] = [
      ["'1'", T.bool, 'true'],
      ["'no'", T.bool, 'false'],
      ["'007'", T.int4, '7'],
      ["'-3'", T.int4, "'-3'::integer"],
      ["'5'", T.int2, "'5'::smallint"],
      ["'5'", T.int8, "'5'::bigint"],
      ["'0'", { ...T.numeric, typmod: (6 << 16) + 2 + 4 }, "'0'::numeric"],
      ["'1.50'", T.numeric, '1.50'],
      ["'-2'", T.numeric, "'-2'::numeric"],
      ["'1.5'", T.float8, "'1.5'::double precision"],
      ["'maybe'", T.bool, "'maybe'::boolean"],
    ];
    for (const [literal, type, text] of folded) expect(deparseStored(stored(literal), type), literal).toBe(text);
    expect(deparseStored(stored('now()'))).toBe('now()');
    expect(deparseStored(stored('now()::text'))).toBe('(now())::text');
    expect(deparseStored(stored('now()::text'), undefined, true)).toBe('now()::text');
    expect(deparseStored(stored('(a + 1)::text'))).toBe('((a + 1))::text');
    expect(deparseStored(stored('(a + 1)::text'), undefined, true)).toBe('(a + 1)::text');
    expect(deparseStored(stored('a + 1 * b'))).toBe('(a + (1 * b))');
    expect(checkDefinition(stored('v > 0 AND v < 10'))).toBe('CHECK (((v > 0) AND (v < 10)))');
    expect(checkDefinition(stored('v > 0'), true)).toBe('CHECK (v > 0)');
    // Only the outer parentheses go: these enclose just the left operand.
    expect(checkDefinition(stored('(a > 0) = (b > 0)'), true)).toBe('CHECK ((a > 0) = (b > 0))');
    expect(indexDefinition('public', t1, t1.indexes[0] as TableDescriptor['indexes'][number])).toBe('CREATE UNIQUE INDEX t1_name ON public.t1 USING btree (name, v DESC)');
    expect(indexDefinition(null, t1, t1.primaryKey)).toBe('CREATE UNIQUE INDEX t1_pkey ON t1 USING btree (id)');
  });
});

describe('other catalogs', () => {
  it('pg_sequence gives a serial column’s sequence the column’s type', () => {
    expect(pgSequenceRows(view).map((r) => [r.seqrelid, r.seqtypid, r.seqmax, r.seqmin])).toEqual([[105, T.int4.oid, 2147483647n, 1n]]);
  });
  it('pg_namespace has the built-in schemas and this database’s', () => {
    expect(pgNamespaceRows(view).map((r) => [r.oid, r.nspname])).toEqual([
      [OID.pgCatalog, 'pg_catalog'],
      [OID.informationSchema, 'information_schema'],
      [101, 'public'],
    ]);
    expect(searchSchemaIds(view)).toEqual([OID.pgCatalog, 101]);
  });
  it('pg_database lists every database', () => {
    expect(pgDatabaseRows(view).map((r) => [r.datname, r.encoding, r.datcollate])).toEqual([
      ['defaultdb', 6, 'C'],
      ['postgres', 6, 'C'],
    ]);
  });
  it('pg_roles shows superusers with every capability and hides passwords', () => {
    expect(pgRolesRows(view).map((r) => [r.rolname, r.rolsuper, r.rolcreatedb, r.rolcanlogin, r.rolpassword])).toEqual([
      ['admin', true, true, true, '********'],
      ['zed', false, false, true, '********'],
    ]);
  });
});

describe('information_schema', () => {
  it('tables has base tables and views, not sequences', () => {
    expect(tablesRows(view).map((r) => [r.table_catalog, r.table_schema, r.table_name, r.table_type])).toEqual([
      ['defaultdb', 'public', 't1', 'BASE TABLE'],
      ['defaultdb', 'public', 'heap', 'BASE TABLE'],
      ['defaultdb', 'public', 'v1', 'VIEW'],
    ]);
  });
  it('columns has types, nullability, defaults and lengths', () => {
    const rows = columnsRows(view).filter((r) => r.table_name === 't1');
    expect(rows.map((r) => [r.column_name, r.ordinal_position, r.is_nullable, r.data_type, r.udt_name, r.column_default, r.character_maximum_length, r.numeric_precision])).toEqual([
      ['id', 1, 'NO', 'integer', 'int4', "nextval('t1_id_seq'::regclass)", null, 32],
      ['name', 2, 'NO', 'text', 'text', "'x'::text", null, null],
      ['v', 3, 'YES', 'integer', 'int4', null, null, 32],
      ['label', 4, 'YES', 'character varying', 'varchar', null, 20, null],
    ]);
  });
});

describe('registry', () => {
  it('every table’s rows only use its columns', () => {
    for (const t of SYSTEM_TABLES) {
      const names = new Set(t.columns.map((c) => c.name));
      for (const row of t.rows(view)) for (const key of Object.keys(row)) expect(names.has(key), `${t.schema}.${t.name}.${key}`).toBe(true);
    }
  });
  it('fills what a builder leaves out with NULL, in column order', () => {
    const am = systemTable('pg_catalog', 'pg_am');
    expect(am && rowValues(am, { amname: 'x' })).toEqual([null, 'x', null, null]);
  });
  it('has distinct OIDs', () => {
    expect(new Set(SYSTEM_TABLES.map((t) => t.oid)).size).toBe(SYSTEM_TABLES.length);
  });
});

describe('array text', () => {
  it('parses and formats as array_in/array_out', () => {
    expect(parseArrayText('{}')).toEqual([]);
    expect(parseArrayText('{a, "b c",NULL,"NULL","x\\"y"}')).toEqual(['a', 'b c', null, 'NULL', 'x"y']);
    expect(formatArrayText(['a', 'b c', null, 'NULL', '', 'x"y'])).toBe('{a,"b c",NULL,"NULL","","x\\"y"}');
    expect(() => parseArrayText('a,b')).toThrow(/malformed array literal/);
  });
});
