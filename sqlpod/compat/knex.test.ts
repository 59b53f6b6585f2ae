// knex (client 'pg') through the proxy: its migrator on a directory of real
// migrations, rollback, hasTable/hasColumn and the query builder. The same
// migrations and work run on real PostgreSQL, and the schemas and results
// they leave are compared.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

// CommonJS files, so knex loads them with require() as it does a project's.
// Foreign keys as knex writes them: inline REFERENCES in CREATE TABLE, and
// ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY for .foreign().
const MIGRATIONS: Record<string, string> = {
  '20240101000000_authors_books.cjs': `
exports.up = (knex) => knex.schema
  .createTable('authors', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.string('email').unique();
    t.timestamps(true, true);
  })
  .createTable('books', (t) => {
    t.increments('id');
    t.integer('author_id').notNullable().references('id').inTable('authors').onDelete('CASCADE');
    t.string('title').notNullable();
    t.decimal('price', 8, 2);
    t.boolean('in_print').notNullable().defaultTo(true);
    t.timestamps(true, true);
    t.index(['author_id', 'title']);
  });
exports.down = (knex) => knex.schema.dropTable('books').dropTable('authors');
`,
  '20240102000000_reviews.cjs': `
exports.up = (knex) => knex.schema.createTable('reviews', (t) => {
  t.bigIncrements('id');
  t.integer('book_id');
  t.foreign('book_id').references('books.id');
  t.text('body');
  t.smallint('stars').notNullable().defaultTo(3);
  t.jsonb('meta');
  t.uuid('token');
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.index('book_id');
});
exports.down = (knex) => knex.schema.dropTable('reviews');
`,
  '20240103000000_books_isbn.cjs': `
exports.up = (knex) => knex.schema.alterTable('books', (t) => {
  t.string('isbn', 13);
  t.date('published_on');
  t.bigInteger('copies_sold').defaultTo(0);
});
exports.down = (knex) => knex.schema.alterTable('books', (t) => {
  t.dropColumn('copies_sold');
  t.dropColumn('published_on');
  t.dropColumn('isbn');
});
`,
};

let shoal: ProxiedShoal;
let postgres: LocalPostgres;
let dir: string;
let s: Knex;
let p: Knex;

beforeAll(async () => {
  [shoal, postgres] = await Promise.all([startProxiedShoal('knexcompat'), startPostgres({ settings: { fsync: 'off' } })]);
  dir = mkdtempSync(join(tmpdir(), 'knex-migrations-'));
  for (const [name, source] of Object.entries(MIGRATIONS)) writeFileSync(join(dir, name), source);
  const migrations = { directory: dir, loadExtensions: ['.cjs'] };
  s = knex({ client: 'pg', connection: shoal.config(), pool: { min: 0, max: 4 }, migrations });
  p = knex({ client: 'pg', connection: postgres.url(), pool: { min: 0, max: 4 }, migrations });
}, 120_000);

afterAll(async () => {
  await s?.destroy();
  await p?.destroy();
  await shoal?.stop();
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const COLUMNS = `SELECT table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length,
  numeric_precision, numeric_scale, datetime_precision, udt_name
  FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;

async function columns(k: Knex): Promise<unknown[]> {
  const result = await k.raw<{ rows: unknown[] }>(COLUMNS);
  return result.rows;
}

// How introspection commonly finds keys: the information_schema constraint views joined.
const KEYS = `SELECT tc.table_name, tc.constraint_name, tc.constraint_type, kcu.column_name, ccu.table_name AS foreign_table,
  ccu.column_name AS foreign_column, rc.update_rule, rc.delete_rule
  FROM information_schema.table_constraints tc
  JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
  JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
  LEFT JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema
  WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')
  ORDER BY tc.table_name, tc.constraint_name, kcu.column_name`;

async function keys(k: Knex): Promise<unknown[]> {
  const result = await k.raw<{ rows: unknown[] }>(KEYS);
  return result.rows;
}

describe('the migrator', () => {
  it('applies every migration and leaves the schema PostgreSQL has', async () => {
    for (const k of [s, p]) {
      const [batch, applied] = (await k.migrate.latest()) as [number, string[]];
      expect(batch).toBe(1);
      expect(applied).toHaveLength(3);
    }
    const [sc, pc] = await Promise.all([columns(s), columns(p)]);
    expect(sc.length).toBeGreaterThan(20);
    expect(sc).toEqual(pc);
    const [sk, pk] = await Promise.all([keys(s), keys(p)]);
    expect(sk).toContainEqual(expect.objectContaining({ constraint_name: 'books_author_id_foreign', foreign_table: 'authors', delete_rule: 'CASCADE' }));
    expect(sk).toEqual(pk);
    expect(await s.migrate.currentVersion()).toBe('20240103000000');
    expect(((await s.migrate.list()) as [unknown[], unknown[]])[1]).toEqual([]);
  });

  it('answers hasTable and hasColumn', async () => {
    expect(await s.schema.hasTable('books')).toBe(true);
    expect(await s.schema.hasTable('knex_migrations_lock')).toBe(true);
    expect(await s.schema.hasTable('nope')).toBe(false);
    expect(await s.schema.hasColumn('books', 'isbn')).toBe(true);
    expect(await s.schema.hasColumn('books', 'nope')).toBe(false);
    expect(await s.schema.hasColumn('reviews', 'meta')).toBe(true);
  });

  it('rolls back the last batch and applies it again', async () => {
    await s.migrate.rollback();
    expect(await s.schema.hasTable('authors')).toBe(false);
    expect(await s.schema.hasTable('reviews')).toBe(false);
    expect(await s.schema.hasTable('knex_migrations')).toBe(true);
    expect(await s.migrate.currentVersion()).toBe('none');
    // One at a time now: each its own batch; down the last one only.
    for (let i = 0; i < 3; i++) await s.migrate.up();
    await s.migrate.down();
    expect(await s.schema.hasColumn('books', 'isbn')).toBe(false);
    await s.migrate.latest();
    expect(await s.schema.hasColumn('books', 'isbn')).toBe(true);
    expect(await columns(s)).toEqual(await columns(p));
  });

  it('applies and rolls back a migration whose foreign key the existing rows break, as PostgreSQL does', async () => {
    const withFk = mkdtempSync(join(tmpdir(), 'knex-migrations-fk-'));
    try {
      for (const [name, source] of Object.entries(MIGRATIONS)) writeFileSync(join(withFk, name), source);
      writeFileSync(
        join(withFk, '20240104000000_loans.cjs'),
        `exports.up = async (knex) => {
  await knex.schema.createTable('loans', (t) => {
    t.increments('id');
    t.integer('book_id').notNullable().references('id').inTable('books').onDelete('CASCADE');
  });
  await knex('loans').insert({ book_id: 424242 });
};
exports.down = (knex) => knex.schema.dropTable('loans');
`,
      );
      for (const k of [s, p]) {
        const err = (await k.migrate.latest({ directory: withFk }).catch((e: unknown) => e)) as { code?: string; detail?: string };
        expect([err.code, err.detail]).toEqual(['23503', 'Key (book_id)=(424242) is not present in table "books".']);
        // knex runs each migration in a transaction: CREATE TABLE went with it.
        expect(await k.schema.hasTable('loans')).toBe(false);
        expect(await k.migrate.currentVersion()).toBe('20240103000000');
        // A per-call config sticks to knex's migrator: name the directory again.
        expect(((await k.migrate.latest({ directory: dir })) as [number, string[]])[1]).toEqual([]);
      }
    } finally {
      rmSync(withFk, { recursive: true, force: true });
    }
  });
});

interface Author {
  id: number;
  name: string;
  email?: string | null;
}

/** Query-builder work whose results do not depend on the clock; run on both sides. */
async function work(k: Knex): Promise<unknown[]> {
  const out: unknown[] = [];
  const [ada] = await k<Author>('authors').insert({ name: 'Ada', email: 'ada@example.com' }).returning(['id', 'name']);
  const [bob] = await k<Author>('authors').insert({ name: 'Bob' }).returning('id');
  out.push(ada, bob);
  const books = await k('books')
    .insert([
      { author_id: (ada as { id: number }).id, title: 'Notes', price: '12.50', isbn: '9780000000001', published_on: '1843-10-01' },
      { author_id: (ada as { id: number }).id, title: 'Engines', price: 30, in_print: false },
      { author_id: (bob as { id: number }).id, title: 'Bob and Co', price: null, copies_sold: 7 },
    ])
    .returning(['id', 'title', 'in_print', 'copies_sold']);
  out.push(books);
  await k('reviews').insert([
    { book_id: 1, body: 'great', stars: 5, meta: JSON.stringify({ tags: ['classic'] }), token: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
    { book_id: 1, body: 'fine' },
    { book_id: 3, body: 'meh', stars: 2 },
  ]);
  out.push(
    await k('books as b')
      .join('authors as a', 'a.id', 'b.author_id')
      .leftJoin('reviews as r', 'r.book_id', 'b.id')
      .select('a.name', 'b.title')
      .count('r.id as reviews')
      .avg('r.stars as stars')
      .groupBy('a.name', 'b.title')
      .orderBy([{ column: 'a.name' }, { column: 'b.title', order: 'desc' }]),
  );
  out.push(await k('books').where('price', '>', 10).andWhere('in_print', true).orWhereNull('price').select('title', 'price', 'published_on').orderBy('id'));
  out.push(await k('reviews').whereRaw("meta @> ?::jsonb", [JSON.stringify({ tags: ['classic'] })]).select('body', 'meta', 'token'));
  out.push(await k('books').whereIn('id', [1, 3]).update({ copies_sold: k.raw('copies_sold + 1') }).returning(['id', 'copies_sold']));
  // A transaction that commits, and one that throws and rolls back.
  await k.transaction(async (trx) => {
    await trx('authors').insert({ name: 'Cy' });
    await trx('books').where('title', 'Engines').update({ in_print: true });
  });
  const failed = await k
    .transaction(async (trx) => {
      await trx('authors').insert({ name: 'Dee' });
      await trx('authors').insert({ name: 'Ada again', email: 'ada@example.com' });
    })
    .catch((err: { code?: string }) => err.code);
  out.push(failed);
  out.push(await k('authors').select('name').orderBy('id'));
  out.push(await k('books').count({ n: '*' }).where('in_print', true));
  out.push(await k('reviews').where('stars', '<', 3).del());
  out.push(await k('reviews').max('stars as best').min('stars as worst').sum('stars as total'));
  // Foreign keys: a book of nobody, an author whose books are reviewed, one whose are not (they go with her).
  out.push(await k('books').insert({ author_id: 999, title: 'Orphan' }).catch((err: { code?: string; detail?: string }) => [err.code, err.detail]));
  out.push(await k('authors').where('name', 'Ada').del().catch((err: { code?: string; detail?: string }) => [err.code, err.detail]));
  out.push(await k('authors').where('name', 'Bob').del());
  out.push(await k('books').select('title').orderBy('id'));
  return out;
}

describe('the query builder', () => {
  it('inserts, selects, joins, updates and deletes, in and out of transactions, as on PostgreSQL', async () => {
    const [sw, pw] = await Promise.all([work(s), work(p)]);
    expect(sw).toEqual(pw);
    expect(sw[7]).toBe('23505');
  });

  it('reads the version knex checks and the timestamps knex writes', async () => {
    const { rows } = await s.raw<{ rows: { version: string }[] }>('select version()');
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
    const [row] = await s<{ created_at: Date; updated_at: Date }>('authors').where('name', 'Ada').select('created_at', 'updated_at');
    expect(row?.created_at).toBeInstanceOf(Date);
    expect(Math.abs((row?.created_at.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });
});
