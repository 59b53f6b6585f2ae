// jsonb values: parsed like PostgreSQL's JSON lexer, numbers kept as numeric
// (so 1.50 stays 1.50), object keys de-duplicated (last wins) and ordered the
// way jsonb stores them (shorter keys first, then bytewise).
import { SQLSTATE } from '../errors.js';
import { sqlError } from './catalog.js';
import { Numeric, compareNumeric } from './numeric.js';

export type JsonValue = null | boolean | string | Numeric | readonly JsonValue[] | JsonObject;
export type JsonObject = ReadonlyMap<string, JsonValue>;

export class Jsonb {
  constructor(readonly value: JsonValue) {}

  toString(): string {
    return formatJson(this.value);
  }
}

export function isJsonObject(v: JsonValue): v is JsonObject {
  return v instanceof Map;
}

export function isJsonArray(v: JsonValue): v is readonly JsonValue[] {
  return Array.isArray(v);
}

/** jsonb's key order: shorter UTF-8 length first, then bytewise. */
export function compareJsonKeys(a: string, b: string): number {
  if (a === b) return 0;
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** An object with jsonb's key order; later duplicates win. */
export function makeObject(entries: Iterable<readonly [string, JsonValue]>): JsonObject {
  const m = new Map<string, JsonValue>();
  for (const [k, v] of entries) m.set(k, v);
  return new Map([...m.entries()].sort((x, y) => compareJsonKeys(x[0], y[0])));
}

function invalidJson(detail: string): Error {
  return sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, 'invalid input syntax for type json', { detail });
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  private pos = 0;

  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    const v = this.value();
    this.ws();
    if (this.pos < this.s.length) throw invalidJson(`Expected end of input, but found "${this.token()}".`);
    return v;
  }

  private ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos] ?? '')) this.pos++;
  }

  private token(): string {
    const m = /^(?:[A-Za-z0-9_.+-]+|.)/s.exec(this.s.slice(this.pos));
    return m?.[0] ?? '';
  }

  private value(): JsonValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) throw invalidJson('The input string ended unexpectedly.');
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (m !== null && !/[A-Za-z0-9_]/.test(this.s[this.pos + m[0].length] ?? '')) {
      this.pos += m[0].length;
      return Numeric.parse(m[0]);
    }
    const tok = this.token();
    if (tok === 'true' || tok === 'false' || tok === 'null') {
      this.pos += tok.length;
      return tok === 'null' ? null : tok === 'true';
    }
    throw invalidJson(`Token "${tok}" is invalid.`);
  }

  private expect(ch: string, what: string): void {
    this.ws();
    if (this.s[this.pos] !== ch) {
      if (this.pos >= this.s.length) throw invalidJson('The input string ended unexpectedly.');
      throw invalidJson(`Expected ${what}, but found "${this.token()}".`);
    }
    this.pos++;
  }

  private object(): JsonObject {
    this.pos++;
    const entries: [string, JsonValue][] = [];
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return new Map();
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') {
        if (this.pos >= this.s.length) throw invalidJson('The input string ended unexpectedly.');
        throw invalidJson(`Expected string, but found "${this.token()}".`);
      }
      const key = this.string();
      this.expect(':', '":"');
      entries.push([key, this.value()]);
      this.ws();
      if (this.s[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect('}', '"," or "}"');
      return makeObject(entries);
    }
  }

  private array(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      if (this.s[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect(']', '"," or "]"');
      return out;
    }
  }

  private string(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) throw invalidJson('The input string ended unexpectedly.');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.s[this.pos++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u':
            out += this.unicodeEscape();
            break;
          default:
            throw invalidJson(`Escape sequence "\\${e ?? ''}" is invalid.`);
        }
        continue;
      }
      if (c < ' ') throw invalidJson(`Character with value 0x${c.charCodeAt(0).toString(16).padStart(2, '0')} must be escaped.`);
      out += c;
    }
  }

  private hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw invalidJson('"\\u" must be followed by four hexadecimal digits.');
    this.pos += 4;
    return parseInt(h, 16);
  }

  private unicodeEscape(): string {
    const u = this.hex4();
    if (u === 0) {
      throw sqlError(SQLSTATE.INVALID_JSON_TEXT, 'unsupported Unicode escape sequence', { detail: '\\u0000 cannot be converted to text.' });
    }
    if (u >= 0xd800 && u <= 0xdbff) {
      if (this.s.slice(this.pos, this.pos + 2) !== '\\u') throw invalidJson('Unicode high surrogate must not follow a high surrogate.');
      this.pos += 2;
      const lo = this.hex4();
      if (lo < 0xdc00 || lo > 0xdfff) throw invalidJson('Unicode high surrogate must not follow a high surrogate.');
      return String.fromCharCode(u, lo);
    }
    if (u >= 0xdc00 && u <= 0xdfff) throw invalidJson('Unicode low surrogate must follow a high surrogate.');
    return String.fromCharCode(u);
  }
}

export function parseJsonb(text: string): Jsonb {
  return new Jsonb(new Parser(text).parseDocument());
}

export function escapeJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      default:
        out += ch < ' ' ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
    }
  }
  return `${out}"`;
}

export function formatJson(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return escapeJsonString(v);
  if (v instanceof Numeric) return v.toString();
  if (isJsonArray(v)) return `[${v.map(formatJson).join(', ')}]`;
  return `{${[...v.entries()].map(([k, x]) => `${escapeJsonString(k)}: ${formatJson(x)}`).join(', ')}}`;
}

export function jsonTypeof(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof Numeric) return 'number';
  return isJsonArray(v) ? 'array' : 'object';
}

function isScalar(v: JsonValue): v is null | boolean | string | Numeric {
  return v === null || typeof v !== 'object' || v instanceof Numeric;
}

// Scalar rank in jsonb's type order: null < string < numeric < boolean.
function scalarRank(v: null | boolean | string | Numeric): number {
  if (v === null) return 0;
  if (typeof v === 'string') return 1;
  if (v instanceof Numeric) return 2;
  return 3;
}

/** Code-point (C collation) string order. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (U+D800–DFFF) encode code points above U+FFFF: move them past the BMP.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

function compareScalars(a: null | boolean | string | Numeric, b: null | boolean | string | Numeric): number {
  const ra = scalarRank(a);
  const rb = scalarRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'string' && typeof b === 'string') return Math.sign(compareText(a, b));
  if (a instanceof Numeric && b instanceof Numeric) return compareNumeric(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return 0;
}

function compareContainers(a: readonly JsonValue[] | JsonObject, aRaw: boolean, b: readonly JsonValue[] | JsonObject, bRaw: boolean): number {
  const aArr = isJsonArray(a);
  const bArr = isJsonArray(b);
  if (aArr !== bArr) return aArr ? -1 : 1;
  if (isJsonArray(a) && isJsonArray(b)) {
    // A raw scalar sorts before a one-element array, but element count decides first: [] < any scalar.
    if (a.length !== b.length) return a.length - b.length;
    if (aRaw !== bRaw) return aRaw ? -1 : 1;
    for (let i = 0; i < a.length; i++) {
      const c = compareElements(a[i] ?? null, b[i] ?? null);
      if (c !== 0) return c;
    }
    return 0;
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  if (ao.size !== bo.size) return ao.size - bo.size;
  const ea = [...ao.entries()];
  const eb = [...bo.entries()];
  for (let i = 0; i < ea.length; i++) {
    const [ka, va] = ea[i] ?? ['', null];
    const [kb, vb] = eb[i] ?? ['', null];
    const kc = Math.sign(compareText(ka, kb));
    if (kc !== 0) return kc;
    const vc = compareElements(va, vb);
    if (vc !== 0) return vc;
  }
  return 0;
}

function compareElements(a: JsonValue, b: JsonValue): number {
  const sa = isScalar(a);
  const sb = isScalar(b);
  if (sa && sb) return compareScalars(a, b);
  if (sa) return -1;
  if (sb) return 1;
  return compareContainers(a, false, b, false);
}

/** compareJsonbContainers: the btree order of jsonb (Object > Array > Boolean > Number > String > Null, [] lowest). */
export function compareJsonb(a: Jsonb, b: Jsonb): number {
  const wrap = (v: JsonValue): [readonly JsonValue[] | JsonObject, boolean] => (isScalar(v) ? [[v], true] : [v, false]);
  const [ca, ra] = wrap(a.value);
  const [cb, rb] = wrap(b.value);
  return Math.sign(compareContainers(ca, ra, cb, rb));
}

// --- operators ---------------------------------------------------------------------------

export function jsonField(v: JsonValue, key: string): JsonValue | undefined {
  return isJsonObject(v) ? v.get(key) : undefined;
}

/** The i-th element (negative counts from the end); raw scalars behave as one-element arrays, as in PostgreSQL. */
export function jsonElement(v: JsonValue, index: number): JsonValue | undefined {
  const arr = isJsonArray(v) ? v : isScalar(v) ? [v] : null;
  if (arr === null) return undefined;
  const i = index < 0 ? arr.length + index : index;
  return i >= 0 && i < arr.length ? arr[i] : undefined;
}

/** Text of a value as ->> returns it: strings unquoted, null as SQL NULL. */
export function jsonAsText(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : formatJson(v);
}

/** Parses a one-dimensional text[] literal ('{a,b,"c d"}') as #> and friends take it. */
export function parseTextArrayLiteral(text: string): (string | null)[] {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) {
    throw sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`, { detail: 'Array value must start with "{" or dimension information.' });
  }
  const body = s.slice(1, -1);
  const out: (string | null)[] = [];
  if (body.trim() === '') return out;
  let i = 0;
  while (i <= body.length) {
    while (body[i] === ' ') i++;
    let item = '';
    let quoted = false;
    if (body[i] === '"') {
      quoted = true;
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\') i++;
        item += body[i] ?? '';
        i++;
      }
      i++;
    } else {
      while (i < body.length && body[i] !== ',') {
        if (body[i] === '\\') i++;
        item += body[i] ?? '';
        i++;
      }
      item = item.trim();
    }
    while (body[i] === ' ') i++;
    out.push(!quoted && item.toLowerCase() === 'null' ? null : item);
    if (i >= body.length) break;
    if (body[i] !== ',') throw sqlError(SQLSTATE.INVALID_TEXT_REPRESENTATION, `malformed array literal: "${text}"`);
    i++;
  }
  return out;
}

/** #> : follows a path of keys / array indexes. */
export function jsonPath(v: JsonValue, path: readonly (string | null)[]): JsonValue | undefined {
  let cur: JsonValue | undefined = v;
  for (const step of path) {
    if (cur === undefined || step === null) return undefined;
    if (isJsonObject(cur)) cur = cur.get(step);
    else if (isJsonArray(cur)) {
      if (!/^\s*[+-]?\d+\s*$/.test(step)) return undefined;
      cur = jsonElement(cur, Number(step));
    } else return undefined;
  }
  return cur;
}

/** ? : key of an object, or string element of an array (or the scalar string itself). */
export function jsonExists(v: JsonValue, key: string): boolean {
  if (isJsonObject(v)) return v.has(key);
  if (isJsonArray(v)) return v.some((e) => e === key);
  return v === key;
}

function containsValue(a: JsonValue, b: JsonValue, top: boolean): boolean {
  if (isScalar(b) && top) {
    // A raw scalar: contained by an equal scalar or by an array holding it.
    if (isScalar(a)) return compareScalars(a, b) === 0;
    return isJsonArray(a) && a.some((e) => isScalar(e) && compareScalars(e, b) === 0);
  }
  if (isJsonObject(b)) {
    if (!isJsonObject(a)) return false;
    for (const [k, bv] of b) {
      const av = a.get(k);
      if (av === undefined) return false;
      if (isScalar(bv) || isScalar(av)) {
        if (!(isScalar(bv) && isScalar(av) && compareScalars(av, bv) === 0)) return false;
      } else if (!containsValue(av, bv, false)) return false;
    }
    return true;
  }
  if (isJsonArray(b)) {
    if (!isJsonArray(a)) return false;
    for (const be of b) {
      if (isScalar(be)) {
        if (!a.some((ae) => isScalar(ae) && compareScalars(ae, be) === 0)) return false;
      } else if (!a.some((ae) => !isScalar(ae) && isJsonArray(ae) === isJsonArray(be) && containsValue(ae, be, false))) return false;
    }
    return true;
  }
  return false;
}

/** @> */
export function jsonContains(a: JsonValue, b: JsonValue): boolean {
  return containsValue(a, b, true);
}

/** || */
export function jsonConcat(a: JsonValue, b: JsonValue): JsonValue {
  if (isJsonObject(a) && isJsonObject(b)) return makeObject([...a.entries(), ...b.entries()]);
  const asArray = (v: JsonValue): readonly JsonValue[] => (isJsonArray(v) ? v : [v]);
  return [...asArray(a), ...asArray(b)];
}

function deleteFromScalar(): Error {
  return sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'cannot delete from scalar');
}

/** jsonb - text */
export function jsonDeleteKey(v: JsonValue, key: string): JsonValue {
  if (isScalar(v)) throw deleteFromScalar();
  if (isJsonObject(v)) return new Map([...v.entries()].filter(([k]) => k !== key));
  return v.filter((e) => e !== key);
}

/** jsonb - integer */
export function jsonDeleteIndex(v: JsonValue, index: number): JsonValue {
  if (isScalar(v)) throw deleteFromScalar();
  if (isJsonObject(v)) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'cannot delete from object using integer index');
  const i = index < 0 ? v.length + index : index;
  if (i < 0 || i >= v.length) return v;
  return v.filter((_e, j) => j !== i);
}

export function jsonArrayLength(v: JsonValue): number {
  if (isJsonArray(v)) return v.length;
  if (isScalar(v)) throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'cannot get array length of a scalar');
  throw sqlError(SQLSTATE.INVALID_PARAMETER_VALUE, 'cannot get array length of a non-array');
}
