// The system interface's SQL: the statements that manage virtual clusters,
// in CockroachDB's syntax. A small hand parser: none of them is PostgreSQL
// grammar, and nothing else is accepted here.
import { SQLSTATE, SqlError } from '../../sqlpod/sql/errors.js';

export type SystemStatement =
  | { readonly kind: 'create'; readonly name: string; readonly ifNotExists: boolean }
  | { readonly kind: 'drop'; readonly name: string; readonly ifExists: boolean }
  | { readonly kind: 'show'; readonly name: string | null };

export const SUPPORTED =
  'the system interface runs CREATE VIRTUAL CLUSTER <name>, SHOW VIRTUAL CLUSTERS, SHOW VIRTUAL CLUSTER <name> and DROP VIRTUAL CLUSTER <name>';

interface Token {
  readonly text: string;
  /** Unquoted words fold to lower case, as PostgreSQL identifiers do; quoted ones keep their case. */
  readonly value: string;
  readonly quoted: boolean;
  /** 1-based character offset in the statement, for the error position. */
  readonly position: number;
}

/** Splits a query string at semicolons outside quotes; empty statements are dropped. */
export function splitStatements(sql: string): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i <= sql.length; i++) {
    const c = sql[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === ';' || c === undefined) {
      const text = sql.slice(start, i);
      if (text.trim() !== '') out.push({ text, offset: start });
      start = i + 1;
    }
  }
  return out;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new SqlError(SQLSTATE.SYNTAX_ERROR, `unterminated quoted ${c === '"' ? 'identifier' : 'string'}`, { position: i + 1 });
      const body = sql.slice(i + 1, end);
      tokens.push({ text: sql.slice(i, end + 1), value: body, quoted: true, position: i + 1 });
      i = end + 1;
    } else if (/[A-Za-z0-9_-]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$-]/.test(sql.charAt(j))) j++;
      const text = sql.slice(i, j);
      tokens.push({ text, value: text.toLowerCase(), quoted: false, position: i + 1 });
      i = j;
    } else {
      tokens.push({ text: c, value: c, quoted: false, position: i + 1 });
      i++;
    }
  }
  return tokens;
}

/** Parses one statement; SQLSTATE 0A000 for anything that is not a virtual-cluster statement, 42601 for bad syntax. */
export function parseSystemStatement(sql: string): SystemStatement {
  const tokens = tokenize(sql);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const word = (w: string): boolean => {
    const t = peek();
    if (t && !t.quoted && t.value === w) {
      at++;
      return true;
    }
    return false;
  };
  const expectWords = (...words: string[]): void => {
    for (const w of words) {
      if (!word(w)) throw syntax(peek(), w.toUpperCase(), sql);
    }
  };
  const name = (): string => {
    const t = peek();
    if (!t || (!t.quoted && !/^[a-z0-9_-]+$/.test(t.value))) throw syntax(t, 'a virtual cluster name', sql);
    at++;
    return t.value;
  };
  const end = (): void => {
    const t = peek();
    if (t) throw syntax(t, 'the end of the statement', sql);
  };

  const first = peek();
  if (!first) throw new SqlError(SQLSTATE.SYNTAX_ERROR, 'empty statement');
  if (word('create')) {
    if (!isVirtualCluster(peek(), tokens[at + 1])) throw unsupported(first, sql);
    expectWords('virtual', 'cluster');
    const ifNotExists = word('if');
    if (ifNotExists) expectWords('not', 'exists');
    const statement = { kind: 'create', name: name(), ifNotExists } as const;
    end();
    return statement;
  }
  if (word('drop')) {
    if (!isVirtualCluster(peek(), tokens[at + 1])) throw unsupported(first, sql);
    expectWords('virtual', 'cluster');
    const ifExists = word('if');
    if (ifExists) expectWords('exists');
    const statement = { kind: 'drop', name: name(), ifExists } as const;
    // CockroachDB's IMMEDIATE: the keyspace goes at once, which is what happens here anyway.
    word('immediate');
    end();
    return statement;
  }
  if (word('show')) {
    if (!word('virtual')) throw unsupported(first, sql);
    if (word('clusters')) {
      end();
      return { kind: 'show', name: null };
    }
    expectWords('cluster');
    const statement = { kind: 'show', name: name() } as const;
    end();
    return statement;
  }
  throw unsupported(first, sql);
}

function isVirtualCluster(a: Token | undefined, b: Token | undefined): boolean {
  return a?.value === 'virtual' && !a.quoted && b?.value === 'cluster' && !b.quoted;
}

function syntax(t: Token | undefined, wanted: string, sql: string): SqlError {
  return new SqlError(SQLSTATE.SYNTAX_ERROR, t ? `syntax error at or near "${t.text}": expected ${wanted}` : `syntax error at end of input: expected ${wanted}`, {
    position: t?.position ?? sql.length + 1,
  });
}

function unsupported(first: Token, sql: string): SqlError {
  const words = sql.trim().split(/\s+/).slice(0, 3).join(' ');
  return new SqlError(SQLSTATE.FEATURE_NOT_SUPPORTED, `"${words}" is not supported here: ${SUPPORTED}`, {
    position: first.position,
    hint: 'Connect with the cluster name of a virtual cluster (options=--cluster=<name>) to run other SQL.',
  });
}
