// Drizzle ORM with its node-postgres driver through the proxy: the migrator
// (drizzle-orm/node-postgres/migrator) on a migrations folder in drizzle-kit's
// layout (meta/_journal.json and one .sql file per entry, statements split by
// "--> statement-breakpoint"), then typed queries. The same migrations and
// queries run on real PostgreSQL and their results are compared.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, asc, count, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { boolean, index, integer, jsonb, numeric, pgTable, serial, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type LocalPostgres } from '../../shared/testing/postgres.js';
import { startProxiedShoal, type ProxiedShoal } from '../testing/through-proxy.js';

const users = pgTable('users', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  email: varchar('email', { length: 255 }).notNull().unique(),
  active: boolean('active').notNull().default(true),
  createdAt: timestamp('created_at').notNull().defaultNow(),
});

const posts = pgTable(
  'posts',
  {
    id: serial('id').primaryKey(),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    body: text('body'),
    score: numeric('score', { precision: 6, scale: 2 }).default('0'),
    meta: jsonb('meta').$type<{ tags: string[] }>(),
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [index('posts_author_idx').on(t.authorId)],
);

const tags = pgTable(
  'tags',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    postId: integer('post_id')
      .notNull()
      .references(() => posts.id),
    label: varchar('label', { length: 40 }).notNull(),
  },
  (t) => [uniqueIndex('tags_post_label_idx').on(t.postId, t.label)],
);

// What drizzle-kit generate writes for the tables above, as two migrations,
// each foreign key as ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY.
const MIGRATIONS = [
  {
    tag: '0000_init',
    when: 1_718_000_000_000,
    sql: `CREATE TABLE "users" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"name" text NOT NULL,
\t"email" varchar(255) NOT NULL,
\t"active" boolean DEFAULT true NOT NULL,
\t"created_at" timestamp DEFAULT now() NOT NULL,
\tCONSTRAINT "users_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "posts" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"author_id" integer NOT NULL,
\t"title" text NOT NULL,
\t"body" text,
\t"score" numeric(6, 2) DEFAULT '0',
\t"meta" jsonb
);
--> statement-breakpoint
ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "posts_author_idx" ON "posts" USING btree ("author_id");`,
  },
  {
    tag: '0001_tags',
    when: 1_718_100_000_000,
    sql: `CREATE TABLE "tags" (
\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
\t"post_id" integer NOT NULL,
\t"label" varchar(40) NOT NULL
);
--> statement-breakpoint
ALTER TABLE "posts" ADD COLUMN "published_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tags" ADD CONSTRAINT "tags_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "public"."posts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tags_post_label_idx" ON "tags" USING btree ("post_id","label");`,
  },
];

function writeMigrations(folder: string, upTo: number): void {
  mkdirSync(join(folder, 'meta'), { recursive: true });
  const entries = MIGRATIONS.slice(0, upTo).map((m, idx) => ({ idx, version: '7', when: m.when, tag: m.tag, breakpoints: true }));
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries }, null, 2));
  for (const m of MIGRATIONS.slice(0, upTo)) writeFileSync(join(folder, `${m.tag}.sql`), m.sql);
}

let shoal: ProxiedShoal;
let postgres: LocalPostgres;
let folder: string;
let sPool: pg.Pool;
let pPool: pg.Pool;
let s: NodePgDatabase;
let p: NodePgDatabase;

beforeAll(async () => {
  [shoal, postgres] = await Promise.all([startProxiedShoal('drizzlecompat'), startPostgres({ settings: { fsync: 'off' } })]);
  folder = mkdtempSync(join(tmpdir(), 'drizzle-migrations-'));
  sPool = new pg.Pool({ ...shoal.config(), max: 4 });
  pPool = new pg.Pool({ connectionString: postgres.url(), max: 4 });
  s = drizzle({ client: sPool });
  p = drizzle({ client: pPool });
}, 120_000);

afterAll(async () => {
  await sPool?.end();
  await pPool?.end();
  await shoal?.stop();
  await postgres?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const COLUMNS = `SELECT table_schema, table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length,
  numeric_precision, numeric_scale, udt_name
  FROM information_schema.columns WHERE table_schema IN ('public', 'drizzle') ORDER BY table_schema, table_name, ordinal_position`;
const INDEXES = `SELECT c.relname, i.indisunique, i.indisprimary FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'drizzle') ORDER BY c.relname`;
// What drizzle-kit pull reads of keys (with each side's own OIDs left out).
const CONSTRAINTS = `SELECT c.conname, c.contype, cl.relname, c.confrelid::regclass::text, c.confupdtype, c.confdeltype, c.confmatchtype,
  c.conkey::text, c.confkey::text, pg_get_constraintdef(c.oid)
  FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = c.connamespace
  WHERE n.nspname IN ('public', 'drizzle') AND c.contype IN ('p', 'f') ORDER BY c.conname`;

async function catalog(pool: pg.Pool, query: string): Promise<unknown[]> {
  return (await pool.query({ text: query, rowMode: 'array' })).rows;
}

describe("drizzle's migrator", () => {
  it('creates its schema and table, applies the folder, and records each migration by hash', async () => {
    writeMigrations(folder, 1);
    for (const db of [s, p]) await migrate(db, { migrationsFolder: folder });
    writeMigrations(folder, 2);
    for (const db of [s, p]) {
      await migrate(db, { migrationsFolder: folder });
      // Again: nothing is newer than the last recorded migration.
      await migrate(db, { migrationsFolder: folder });
    }
    const recorded = await sPool.query<{ hash: string; created_at: string }>('SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id');
    expect(recorded.rows).toEqual(MIGRATIONS.map((m) => ({ hash: createHash('sha256').update(m.sql).digest('hex'), created_at: String(m.when) })));
    const [sc, pc] = await Promise.all([catalog(sPool, COLUMNS), catalog(pPool, COLUMNS)]);
    expect(sc.length).toBe(18);
    expect(sc).toEqual(pc);
    expect(await catalog(sPool, INDEXES)).toEqual(await catalog(pPool, INDEXES));
    const constraints = await catalog(sPool, CONSTRAINTS);
    expect(constraints).toContainEqual(['posts_author_id_users_id_fk', 'f', 'posts', 'users', 'a', 'c', 's', '{2}', '{1}', 'FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE CASCADE']);
    expect(constraints).toEqual(await catalog(pPool, CONSTRAINTS));
  });

  it('rolls back a migration that fails, with the rest of its batch', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'drizzle-broken-'));
    try {
      writeMigrations(broken, 2);
      const journal = { version: '7', dialect: 'postgresql', entries: [...MIGRATIONS.map((m, idx) => ({ idx, version: '7', when: m.when, tag: m.tag, breakpoints: true }))] };
      journal.entries.push({ idx: 2, version: '7', when: 1_718_200_000_000, tag: '0002_broken', breakpoints: true }, { idx: 3, version: '7', when: 1_718_300_000_000, tag: '0003_fk', breakpoints: true });
      writeFileSync(join(broken, 'meta', '_journal.json'), JSON.stringify(journal));
      writeFileSync(join(broken, '0002_broken.sql'), 'CREATE TABLE "audit" ("id" serial PRIMARY KEY NOT NULL, "what" text);');
      // A key on a column that nothing makes unique: PostgreSQL refuses it too.
      writeFileSync(join(broken, '0003_fk.sql'), 'ALTER TABLE "tags" ADD CONSTRAINT "tags_label_users_name_fk" FOREIGN KEY ("label") REFERENCES "public"."users"("name") ON DELETE cascade ON UPDATE no action;');
      const errors = [];
      for (const db of [s, p]) {
        const err = (await migrate(db, { migrationsFolder: broken }).catch((e: unknown) => e)) as { cause?: { code?: string; message?: string } };
        errors.push({ code: err.cause?.code, message: err.cause?.message });
      }
      expect(errors[0]).toEqual({ code: '42830', message: 'there is no unique constraint matching given keys for referenced table "users"' });
      expect(errors[0]).toEqual(errors[1]);
      expect((await sPool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'audit'")).rows).toEqual([{ n: 0 }]);
      expect((await sPool.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows).toEqual([{ n: 2 }]);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

/** Typed queries whose results do not depend on the clock or random ids; run on both sides. */
async function work(db: NodePgDatabase): Promise<unknown[]> {
  const out: unknown[] = [];
  const inserted = await db
    .insert(users)
    .values([
      { name: 'Ada', email: 'ada@example.com' },
      { name: 'Bob', email: 'bob@example.com', active: false },
      { name: 'Cy', email: 'cy@example.com' },
    ])
    .returning({ id: users.id, name: users.name, active: users.active });
  out.push(inserted);
  const [ada, bob] = inserted;
  if (!ada || !bob) throw new Error('users not inserted');
  const newPosts = await db
    .insert(posts)
    .values([
      { authorId: ada.id, title: 'Engines', body: 'on computing', score: '9.50', meta: { tags: ['math', 'history'] }, publishedAt: '2024-05-01 10:00:00+00' },
      { authorId: ada.id, title: 'Notes', score: '7.25' },
      { authorId: bob.id, title: 'Draft', meta: { tags: [] } },
    ])
    .returning();
  out.push(newPosts);
  const [engines, notes] = newPosts;
  if (!engines || !notes) throw new Error('posts not inserted');
  await db.insert(tags).values([
    { postId: engines.id, label: 'classic' },
    { postId: engines.id, label: 'long' },
    { postId: notes.id, label: 'classic' },
  ]);

  out.push(await db.select({ name: users.name, email: users.email }).from(users).where(eq(users.active, true)).orderBy(asc(users.name)));
  out.push(
    await db
      .select({ author: users.name, title: posts.title, score: posts.score })
      .from(posts)
      .innerJoin(users, eq(posts.authorId, users.id))
      .where(and(gt(posts.score, '0'), eq(users.active, true)))
      .orderBy(desc(posts.score)),
  );
  out.push(
    await db
      .select({ title: posts.title, tags: count(tags.id) })
      .from(posts)
      .leftJoin(tags, eq(tags.postId, posts.id))
      .groupBy(posts.title)
      .orderBy(asc(posts.title)),
  );
  out.push(await db.select({ title: posts.title }).from(posts).where(isNull(posts.publishedAt)).orderBy(asc(posts.id)));
  out.push(await db.select({ title: posts.title, meta: posts.meta }).from(posts).where(sql`${posts.meta} @> ${JSON.stringify({ tags: ['math'] })}::jsonb`));
  out.push(await db.update(posts).set({ score: sql`${posts.score} + 1`, body: 'edited' }).where(eq(posts.authorId, ada.id)).returning({ title: posts.title, score: posts.score, body: posts.body }));
  out.push(await db.delete(tags).where(eq(tags.label, 'long')).returning({ label: tags.label }));

  // A transaction that commits, and one that rolls back on tx.rollback().
  await db.transaction(async (tx) => {
    await tx.update(users).set({ active: true }).where(eq(users.id, bob.id));
    await tx.insert(posts).values({ authorId: bob.id, title: 'Published' });
  });
  const rolledBack = await db
    .transaction(async (tx) => {
      await tx.delete(tags);
      tx.rollback();
    })
    .catch((e: unknown) => (e as Error).constructor.name);
  out.push(rolledBack);
  const duplicate = await db
    .insert(users)
    .values({ name: 'Ada again', email: 'ada@example.com' })
    .catch((e: unknown) => (e as { cause?: { code?: string } }).cause?.code);
  out.push(duplicate);
  out.push(await db.select({ n: count() }).from(posts));
  out.push(await db.select({ name: users.name, active: users.active }).from(users).orderBy(asc(users.id)));
  // Foreign keys: a post of nobody; Bob's posts go with him (cascade); Ada's are tagged (no action).
  const failure = (e: unknown) => {
    const cause = (e as { cause?: { code?: string; detail?: string } }).cause;
    return [cause?.code, cause?.detail];
  };
  out.push(await db.insert(posts).values({ authorId: 9999, title: 'Orphan' }).catch(failure));
  out.push(await db.delete(users).where(eq(users.id, bob.id)).returning({ name: users.name }));
  out.push(await db.select({ title: posts.title }).from(posts).orderBy(asc(posts.id)));
  out.push(await db.delete(users).where(eq(users.id, ada.id)).catch(failure));
  return out;
}

describe('typed queries', () => {
  it('insert, select, where, join, update, delete and transactions answer as on PostgreSQL', async () => {
    const [sw, pw] = await Promise.all([work(s), work(p)]);
    expect(sw).toEqual(pw);
    expect(sw[9]).toBe('TransactionRollbackError');
    expect(sw[10]).toBe('23505');
    expect(sw[11]).toEqual([{ n: 4 }]);
  });

  it('reads what defaults wrote: the clock and a random uuid', async () => {
    const [ada] = await s.select().from(users).where(eq(users.email, 'ada@example.com'));
    expect(ada?.createdAt).toBeInstanceOf(Date);
    const ids = await s.select({ id: tags.id }).from(tags);
    expect(ids.length).toBe(2);
    for (const { id } of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
