// pg_tables, pg_indexes, pg_views, pg_sequences and pg_matviews beside a real
// PostgreSQL: the same schema on both, the same rows from each view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let side: BesidePostgres;

const SETUP = [
  'CREATE TABLE parent (id serial PRIMARY KEY, code text UNIQUE, score int)',
  'CREATE INDEX parent_score ON parent (score DESC, code)',
  'CREATE TABLE child (id bigint PRIMARY KEY, parent_id int REFERENCES parent (id))',
  'CREATE TABLE loose (v int)',
  'CREATE SCHEMA side',
  'CREATE TABLE side.notes (id int PRIMARY KEY, body text)',
  'CREATE VIEW top_parents AS SELECT id, code FROM parent WHERE score > 10',
  'CREATE SEQUENCE tickets START 100 INCREMENT 5',
  'CREATE SEQUENCE countdown INCREMENT -1',
];

beforeAll(async () => {
  side = await startBesidePostgres('catalog-views', { setup: SETUP });
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

async function same(sql: string): Promise<unknown[][]> {
  const [mine, theirs] = await Promise.all([side.shoal.query({ text: sql, rowMode: 'array' }), side.reference.query({ text: sql, rowMode: 'array' })]);
  expect(mine.rows).toEqual(theirs.rows);
  expect(mine.fields.map((f) => f.name)).toEqual(theirs.fields.map((f) => f.name));
  return mine.rows as unknown[][];
}

describe('catalog views', () => {
  it('pg_tables lists the tables with their owner, indexes and foreign-key triggers', async () => {
    const rows = await same(
      "SELECT schemaname, tablename, tableowner = current_user AS mine, tablespace, hasindexes, hasrules, hastriggers, rowsecurity FROM pg_tables WHERE schemaname IN ('public', 'side') ORDER BY 1, 2",
    );
    expect(rows.map((r) => r[1])).toEqual(['child', 'loose', 'parent', 'notes']);
  });

  it('pg_indexes gives every index with its definition', async () => {
    const rows = await same("SELECT schemaname, tablename, indexname, tablespace, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'side') ORDER BY 1, 2, 3");
    expect(rows).toContainEqual(['public', 'parent', 'parent_score', null, 'CREATE INDEX parent_score ON public.parent USING btree (score DESC, code)']);
  });

  it('pg_views, pg_sequences and pg_matviews', async () => {
    await same("SELECT schemaname, viewname, viewowner = current_user FROM pg_views WHERE schemaname = 'public'");
    const sequences = await same(
      "SELECT schemaname, sequencename, sequenceowner = current_user, data_type::text, start_value, min_value, max_value, increment_by, cycle, cache_size, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 2",
    );
    expect(sequences.map((r) => r[1])).toEqual(['countdown', 'parent_id_seq', 'tickets']);
    await same('SELECT count(*) FROM pg_matviews');
    // A descending sequence starts at -1, as its pg_sequences row says.
    expect(await same("SELECT nextval('countdown'), nextval('countdown')")).toEqual([['-1', '-2']]);
  });
});
