// Enum types (CREATE TYPE … AS ENUM) beside a real PostgreSQL: each script runs
// statement by statement on both, and every outcome (rows, or the SQLSTATE of
// the error) must be the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameOnBoth, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('enums');
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

describe('enum types', () => {
  it('columns of an enum type take its labels only, and sort and compare in label order, not alphabetically', async () => {
    const out = await sameOnBoth(side, [
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
      'CREATE TABLE person (name text PRIMARY KEY, current_mood mood NOT NULL)',
      "INSERT INTO person VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok'), ('d', 'happy')",
      "INSERT INTO person VALUES ('e', 'angry')",
      'SELECT name, current_mood FROM person ORDER BY current_mood, name',
      "SELECT name FROM person WHERE current_mood > 'sad' ORDER BY name",
      "SELECT name FROM person WHERE current_mood = 'ok'::mood",
      "SELECT current_mood, count(*) FROM person GROUP BY current_mood ORDER BY current_mood DESC",
      'SELECT min(current_mood)::text, max(current_mood)::text FROM person',
      "SELECT 'happy'::mood > 'ok'::mood, 'sad'::mood < 'ok'",
      "SELECT 'nope'::mood",
      "SELECT current_mood::text || '!' FROM person WHERE name = 'a'",
      "SELECT 'ok'::text::mood",
      "UPDATE person SET current_mood = 'ok' WHERE name = 'a'",
      'SELECT name, current_mood FROM person ORDER BY name',
      "SELECT pg_typeof('ok'::mood)::text",
      "CREATE TYPE mood AS ENUM ('x')",
    ]);
    expect(out[3]).toEqual({ code: '22P02' });
    expect(out[4]).toEqual({ rows: [['b', 'sad'], ['c', 'ok'], ['a', 'happy'], ['d', 'happy']] });
    expect(out[10]).toEqual({ code: '22P02' });
    expect(out[16]).toEqual({ code: '42710' });
  });

  it('an enum column keys a primary key and an index, in label order', async () => {
    const out = await sameOnBoth(side, [
      "CREATE TYPE size AS ENUM ('small', 'medium', 'large')",
      'CREATE TABLE shirt (s size PRIMARY KEY, stock int)',
      "INSERT INTO shirt VALUES ('large', 1), ('small', 2), ('medium', 3)",
      'SELECT s, stock FROM shirt ORDER BY s',
      "SELECT s FROM shirt WHERE s >= 'medium' ORDER BY s DESC",
      "INSERT INTO shirt VALUES ('small', 9)",
      'CREATE TABLE shirt2 (id int PRIMARY KEY, s size)',
      'CREATE INDEX shirt2_s ON shirt2 (s)',
      "INSERT INTO shirt2 VALUES (1, 'large'), (2, 'small'), (3, NULL), (4, 'medium')",
      "SELECT id FROM shirt2 WHERE s < 'large' ORDER BY s",
    ]);
    expect(out[3]).toEqual({ rows: [['small', 2], ['medium', 3], ['large', 1]] });
    expect(out[5]).toEqual({ code: '23505' });
  });

  it('ALTER TYPE … ADD VALUE places a label BEFORE or AFTER another; rows written before keep their order; RENAME VALUE renames', async () => {
    const out = await sameOnBoth(side, [
      "CREATE TYPE level AS ENUM ('low', 'high')",
      'CREATE TABLE task (id int PRIMARY KEY, l level)',
      'CREATE INDEX task_l ON task (l)',
      "INSERT INTO task VALUES (1, 'high'), (2, 'low')",
      "ALTER TYPE level ADD VALUE 'medium' BEFORE 'high'",
      "ALTER TYPE level ADD VALUE 'critical'",
      "ALTER TYPE level ADD VALUE 'none' BEFORE 'low'",
      "ALTER TYPE level ADD VALUE 'elevated' AFTER 'medium'",
      "INSERT INTO task VALUES (3, 'medium'), (4, 'critical'), (5, 'none'), (6, 'elevated')",
      'SELECT id, l FROM task ORDER BY l',
      "SELECT id FROM task WHERE l > 'medium' ORDER BY l",
      "ALTER TYPE level ADD VALUE 'high'",
      "ALTER TYPE level ADD VALUE IF NOT EXISTS 'high'",
      "ALTER TYPE level ADD VALUE 'x' AFTER 'nope'",
      "ALTER TYPE level RENAME VALUE 'critical' TO 'urgent'",
      'SELECT id, l FROM task ORDER BY l',
      "ALTER TYPE level RENAME VALUE 'nope' TO 'y'",
      "ALTER TYPE level RENAME VALUE 'low' TO 'high'",
      "SELECT 'critical'::level",
      "ALTER TYPE nosuch ADD VALUE 'a'",
      "SELECT enumlabel, enumsortorder > 0 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'level' ORDER BY enumsortorder",
    ]);
    expect(out[9]).toEqual({ rows: [[5, 'none'], [2, 'low'], [3, 'medium'], [6, 'elevated'], [1, 'high'], [4, 'critical']] });
    expect(out[11]).toEqual({ code: '42710' });
    expect(out[13]).toEqual({ code: '22023' });
    expect(out[16]).toEqual({ code: '22023' });
    expect(out[18]).toEqual({ code: '22P02' });
    expect(out[19]).toEqual({ code: '42704' });
  });

  it('DROP TYPE refuses while a column uses the type, and the catalog shows the type as PostgreSQL does', async () => {
    const out = await sameOnBoth(side, [
      'CREATE SCHEMA shop',
      "CREATE TYPE shop.status AS ENUM ('open', 'closed')",
      'CREATE TABLE shop.orders (id int PRIMARY KEY, st shop.status DEFAULT \'open\')',
      'INSERT INTO shop.orders (id) VALUES (1)',
      'SELECT id, st FROM shop.orders',
      'CREATE TABLE bad (s status)',
      "SELECT t.typname, t.typtype, t.typcategory, n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = 'status'",
      "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'shop.orders'::regclass AND attname = 'st'",
      "SELECT data_type, udt_schema, udt_name FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'st'",
      'DROP TYPE shop.status',
      'DROP TABLE shop.orders',
      'DROP TYPE shop.status',
      'DROP TYPE shop.status',
      'DROP TYPE IF EXISTS shop.status',
      "CREATE TYPE person AS ENUM ('a')",
      "CREATE TYPE e2 AS ENUM ('a', 'a')",
      "CREATE TYPE e3 AS ENUM ()",
      "SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'e3'",
      "CREATE TYPE shop.kind AS ENUM ('x')",
      'DROP SCHEMA shop',
      'DROP SCHEMA shop CASCADE',
      "SELECT count(*) FROM pg_type WHERE typname = 'kind'",
      "CREATE TYPE arr AS ENUM ('x')",
      'CREATE TABLE holder (a arr)',
      "INSERT INTO holder VALUES ('x')",
      'ALTER TYPE arr RENAME TO renamed',
      'ALTER TYPE arr RENAME TO again',
      'ALTER TYPE renamed RENAME TO person',
      "SELECT a, pg_typeof(a)::text, 'x'::renamed = a FROM holder",
    ]);
    expect(out[5]).toEqual({ code: '42704' });
    expect(out[9]).toEqual({ code: '2BP01' });
    expect(out[12]).toEqual({ code: '42704' });
    expect(out[14]).toEqual({ code: '42710' });
    expect(out[19]).toEqual({ code: '2BP01' });
    expect(out[26]).toEqual({ code: '42704' });
    expect(out[27]).toEqual({ code: '42710' });
    expect(out[28]).toEqual({ rows: [['x', 'renamed', true]] });
  });

  it('CREATE TYPE and ADD VALUE are undone by ROLLBACK; a parameter of an enum column is read as its label, with 22P02 for others', async () => {
    const out = await sameOnBoth(side, [
      'BEGIN',
      "CREATE TYPE gone AS ENUM ('x')",
      "SELECT 'x'::gone",
      'ROLLBACK',
      "SELECT 'x'::gone",
      "CREATE TYPE light AS ENUM ('red', 'green')",
      'CREATE TABLE signal (id int PRIMARY KEY, l light)',
      'BEGIN',
      "ALTER TYPE light ADD VALUE 'amber' BEFORE 'green'",
      'ROLLBACK',
      "SELECT 'amber'::light",
    ]);
    expect(out[2]).toEqual({ rows: [['x']] });
    expect(out[4]).toEqual({ code: '42704' });
    expect(out[10]).toEqual({ code: '22P02' });
    for (const client of [side.shoal, side.reference]) {
      await client.query('INSERT INTO signal VALUES ($1, $2)', [1, 'green']);
      const r = await client.query('SELECT id FROM signal WHERE l = $1', ['green']);
      expect(r.rows).toEqual([{ id: 1 }]);
      const bad = await client.query('INSERT INTO signal VALUES ($1, $2)', [2, 'blue']).catch((e: { code?: string }) => e.code);
      expect(bad).toBe('22P02');
    }
  });
});
