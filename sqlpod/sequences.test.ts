// nextval, currval, lastval and setval beside a real PostgreSQL: each script
// runs statement by statement on both, and every outcome (rows, or the
// SQLSTATE of the error) must be the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameOnBoth, type Outcome, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('sequences');
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

const script = (statements: readonly string[], shoal = side.shoal, reference = side.reference): Promise<Outcome[]> => sameOnBoth(side, statements, { shoal, reference });

describe('sequence functions', () => {
  it('currval and lastval follow this session’s nextval; setval moves the sequence, with is_called', async () => {
    const out = await script([
      'CREATE SEQUENCE s',
      "SELECT currval('s')",
      'SELECT lastval()',
      "SELECT nextval('s')",
      "SELECT currval('s'), lastval()",
      "SELECT setval('s', 10)",
      "SELECT currval('s'), nextval('s')",
      "SELECT setval('s', 20, false)",
      "SELECT nextval('s'), currval('s')",
      "SELECT pg_catalog.setval('public.s', 30, true)",
      "SELECT nextval('public.s')",
      "SELECT setval('s', 0)",
      "SELECT setval('nosuch', 1)",
      "SELECT currval('nosuch')",
      "SELECT nextval('s') FROM (VALUES (1), (2), (3)) v(x)",
      'CREATE SEQUENCE down INCREMENT -2',
      "SELECT setval('down', 5)",
      "SELECT setval('down', -7)",
      "SELECT nextval('down'), lastval()",
    ]);
    expect(out[1]).toEqual({ code: '55000' });
    expect(out[2]).toEqual({ code: '55000' });
    expect(out[11]).toEqual({ code: '22003' });
    expect(out[12]).toEqual({ code: '42P01' });
  });

  it('CREATE and ALTER SEQUENCE with AS, MINVALUE/MAXVALUE, CYCLE, CACHE, RESTART and OWNED BY', async () => {
    const out = await script([
      'CREATE SEQUENCE small AS smallint INCREMENT BY 10 MINVALUE 5 MAXVALUE 30 CACHE 1 NO CYCLE',
      "SELECT nextval('small'), nextval('small'), nextval('small')",
      "SELECT nextval('small')",
      'ALTER SEQUENCE small CYCLE',
      "SELECT nextval('small'), nextval('small')",
      'ALTER SEQUENCE small RESTART WITH 15',
      "SELECT nextval('small')",
      'ALTER SEQUENCE small RESTART',
      "SELECT nextval('small')",
      'ALTER SEQUENCE small INCREMENT 1 MAXVALUE 7',
      'ALTER SEQUENCE small MAXVALUE 1000 START 100 NO CYCLE CACHE 20',
      "SELECT sequencename, data_type::text, start_value, min_value, max_value, increment_by, cycle, cache_size FROM pg_sequences WHERE sequencename = 'small'",
      'CREATE SEQUENCE wide AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1',
      'CREATE SEQUENCE bad AS text',
      'CREATE SEQUENCE bad MINVALUE 10 MAXVALUE 5',
      'CREATE SEQUENCE bad START 0',
      'CREATE SEQUENCE bad AS smallint MAXVALUE 40000',
      'CREATE TABLE owner_t (id integer NOT NULL)',
      'ALTER SEQUENCE wide OWNED BY owner_t.id',
      'ALTER SEQUENCE wide OWNED BY owner_t.nope',
      'ALTER SEQUENCE nosuch RESTART',
      'ALTER SEQUENCE IF EXISTS nosuch RESTART',
      'ALTER SEQUENCE owner_t RESTART',
      'DROP TABLE owner_t',
      "SELECT count(*) FROM pg_sequences WHERE sequencename = 'wide'",
    ]);
    expect(out[2]).toEqual({ code: '2200H' });
    expect(out[14]).toEqual({ code: '22023' });
  });

  it('setval on a serial column’s sequence (pg_get_serial_sequence), outside the transaction, and per session', async () => {
    await script([
      'CREATE TABLE items (id serial PRIMARY KEY, v text)',
      "INSERT INTO items (v) VALUES ('a'), ('b')",
      "SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items) + 100)",
      "INSERT INTO items (v) VALUES ('c') RETURNING id",
      // setval is not undone by a rollback.
      'BEGIN',
      "SELECT setval('items_id_seq', 500)",
      'ROLLBACK',
      "INSERT INTO items (v) VALUES ('d') RETURNING id",
      "SELECT currval('items_id_seq'), lastval()",
      // The sequence's bound follows the serial column's type (integer).
      "SELECT setval('items_id_seq', 3000000000)",
    ]);
    // currval is the session's own: another session has not called nextval.
    const [otherShoal, otherReference] = [await side.connectShoal(), await side.connectReference()];
    const [fresh] = await script(["SELECT currval('items_id_seq')"], otherShoal, otherReference);
    expect(fresh).toEqual({ code: '55000' });
  });
});
