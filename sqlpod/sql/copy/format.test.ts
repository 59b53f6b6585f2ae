import { describe, expect, it } from 'vitest';
import { SqlError } from '../errors.js';
import { T } from '../types/index.js';
import { checkHeader, decodeRecord, displayed } from './execute.js';
import { CopyDecoder, copyOptions, escapeText, formatRecord, quoteCsv, textFields, unescapeText, type CopyOptionValue, type CopyOptions } from './format.js';

const TEXT = copyOptions([], true);
const CSV = copyOptions([{ name: 'format', value: 'csv' }], true);

function caught(fn: () => unknown): SqlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SqlError) return err;
    throw err;
  }
  throw new Error('expected a SqlError');
}

/** Decodes `input` cut into the given chunk sizes (bytes), returning the fields of each record. */
function decode(options: CopyOptions, input: string | Buffer, cut = Infinity): { line: number; fields: readonly (string | null)[] }[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const d = new CopyDecoder(options);
  const out = [];
  for (let i = 0; i < bytes.length; i += cut) out.push(...d.push(bytes.subarray(i, Math.min(bytes.length, i + cut))));
  out.push(...d.end());
  return out.map((r) => ({ line: r.line, fields: r.fields }));
}

describe('copyOptions', () => {
  it('defaults per format', () => {
    expect(TEXT).toEqual({ format: 'text', delimiter: '\t', null: '\\N', header: false, quote: '"', escape: '"' });
    expect(CSV).toEqual({ format: 'csv', delimiter: ',', null: '', header: false, quote: '"', escape: '"' });
    expect(copyOptions([{ name: 'format', value: 'csv' }, { name: 'quote', value: "'" }], true).escape).toBe("'");
  });

  it.each<[string, CopyOptionValue[], boolean, string, string]>([
    ['binary', [{ name: 'format', value: 'binary' }], true, '0A000', 'COPY BINARY is not supported; use FORMAT text or csv'],
    ['unknown format', [{ name: 'format', value: 'xml' }], true, '22023', 'COPY format "xml" not recognized'],
    ['long delimiter', [{ name: 'delimiter', value: '||' }], true, '0A000', 'COPY delimiter must be a single one-byte character'],
    ['newline delimiter', [{ name: 'delimiter', value: '\n' }], true, '22023', 'COPY delimiter cannot be newline or carriage return'],
    ['backslash delimiter', [{ name: 'delimiter', value: '\\' }], true, '22023', 'COPY delimiter cannot be "\\"'],
    ['quote in text', [{ name: 'quote', value: "'" }], true, '0A000', 'COPY QUOTE requires CSV mode'],
    ['escape in text', [{ name: 'escape', value: '\\' }], true, '0A000', 'COPY ESCAPE requires CSV mode'],
    ['quote = delimiter', [{ name: 'format', value: 'csv' }, { name: 'quote', value: ',' }], true, '22023', 'COPY delimiter and quote must be different'],
    ['delimiter in null', [{ name: 'null', value: 'a\tb' }], true, '22023', 'COPY delimiter character must not appear in the NULL specification'],
    ['header match to', [{ name: 'header', value: 'match' }], false, '0A000', 'cannot use "match" with HEADER in COPY TO'],
    ['bad boolean', [{ name: 'header', value: 'maybe' }], true, '42601', 'header requires a Boolean value or "match"'],
    ['redundant', [{ name: 'null', value: 'x' }, { name: 'null', value: 'y' }], true, '42601', 'conflicting or redundant options'],
    ['unsupported', [{ name: 'force_quote', value: '*' }], true, '0A000', 'COPY option "FORCE_QUOTE" is not supported'],
    ['unknown', [{ name: 'frobnicate', value: undefined }], true, '42601', 'option "frobnicate" not recognized'],
    ['FREEZE in COPY TO', [{ name: 'freeze', value: true }], false, '0A000', 'COPY FREEZE cannot be used with COPY TO'],
    ['FREEZE not boolean', [{ name: 'freeze', value: 'cold' }], true, '42601', 'freeze requires a Boolean value'],
  ])('refuses %s', (_name, given, from, code, message) => {
    const err = caught(() => copyOptions(given, from));
    expect({ code: err.code, message: err.message }).toEqual({ code, message });
  });

  it.each<[CopyOptionValue['value'], boolean | 'match']>([
    [undefined, true],
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['on', true],
    ['off', false],
    ['MATCH', 'match'],
  ])('HEADER %s', (value, header) => {
    expect(copyOptions([{ name: 'header', value }], true).header).toBe(header);
  });

  it('accepts FREEZE for COPY FROM (pgbench -i sends it) and leaves the format as it was', () => {
    expect(copyOptions([{ name: 'freeze', value: 'on' }], true)).toEqual(TEXT);
    expect(copyOptions([{ name: 'freeze', value: false }], false)).toEqual(TEXT);
  });
});

describe('text format input', () => {
  it.each<[string, (string | null)[]]>([
    ['a\tb\tc', ['a', 'b', 'c']],
    ['\\N\t\t', [null, '', '']],
    ['\\\\N', ['\\N']],
    ['a\\tb\\nc\\\\d\\re', ['a\tb\nc\\d\re']],
    ['a\\\tb', ['a\tb']],
    ['\\101\\x42\\x4a\\7', ['ABJ\x07']],
    ['\\b\\f\\v\\q', ['\b\f\vq']],
    ['', ['']],
    ['trailing\\', ['trailing\\']],
  ])('splits and unescapes %j', (line, fields) => {
    expect(textFields(line, TEXT)).toEqual(fields);
  });

  it('matches NULL before unescaping, with a custom marker and delimiter', () => {
    const options = copyOptions([{ name: 'delimiter', value: '|' }, { name: 'null', value: 'nil' }], true);
    expect(textFields('nil|a\\|b|\\nil|', options)).toEqual([null, 'a|b', '\nil', '']);
  });

  it('reads lines whatever the chunking, with CRLF line ends, and stops at \\.', () => {
    const input = 'a\tb\r\nc\td\n€\tx\n\\.\nignored\n';
    const expected = [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c', 'd'] },
      { line: 3, fields: ['€', 'x'] },
    ];
    for (const cut of [1, 2, 3, 7, Infinity]) expect(decode(TEXT, input, cut)).toEqual(expected);
  });

  it('joins a long line sent in many small chunks', () => {
    const long = 'x'.repeat(100_000);
    expect(decode(TEXT, `${long}\t1\n2\t${long}`, 97)).toEqual([
      { line: 1, fields: [long, '1'] },
      { line: 2, fields: ['2', long] },
    ]);
  });

  it('takes a last line without a line break', () => {
    expect(decode(TEXT, '1\n2')).toEqual([
      { line: 1, fields: ['1'] },
      { line: 2, fields: ['2'] },
    ]);
  });

  it('refuses bytes that are not UTF-8', () => {
    const err = caught(() => decode(TEXT, Buffer.from([0x61, 0x0a, 0xff, 0x0a])));
    expect({ code: err.code, where: err.fields.where }).toEqual({ code: '22021', where: 'line 2' });
  });
});

describe('csv format input', () => {
  it.each<[string, (string | null)[]]>([
    ['a,b,c', ['a', 'b', 'c']],
    [',"",x', [null, '', 'x']],
    ['"a,b","say ""hi""",c', ['a,b', 'say "hi"', 'c']],
    ['"ab"cd,e', ['abcd', 'e']],
    ['  spaced  ,x', ['  spaced  ', 'x']],
    ['', [null]],
  ])('splits %j', (line, fields) => {
    expect(decode(CSV, `${line}\n`).map((r) => r.fields)).toEqual([fields]);
  });

  it('keeps line breaks inside quotes and counts physical lines', () => {
    const input = 'x,"one\ntwo"\r\ny,"a\r\nb\nc"\nz,last\n';
    const expected = [
      { line: 2, fields: ['x', 'one\ntwo'] },
      { line: 5, fields: ['y', 'a\r\nb\nc'] },
      { line: 6, fields: ['z', 'last'] },
    ];
    for (const cut of [1, 2, 5, Infinity]) expect(decode(CSV, input, cut)).toEqual(expected);
  });

  it('uses a separate escape character, also across chunks', () => {
    const options = copyOptions([{ name: 'format', value: 'csv' }, { name: 'escape', value: '\\' }], true);
    const input = '"a\\"b\\\\",c\n"\\"\n",d\n';
    const expected = [
      { line: 1, fields: ['a"b\\', 'c'] },
      { line: 3, fields: ['"\n', 'd'] },
    ];
    for (const cut of [1, 2, 3, Infinity]) expect(decode(options, input, cut)).toEqual(expected);
  });

  it('custom NULL matches only unquoted fields; \\. alone ends the data', () => {
    const options = copyOptions([{ name: 'format', value: 'csv' }, { name: 'null', value: 'NULL' }], true);
    expect(decode(options, 'NULL,"NULL",\n"\\."\n\\.\nrest\n').map((r) => r.fields)).toEqual([
      [null, 'NULL', ''],
      ['\\.'],
    ]);
  });

  it('reports an unterminated quoted field', () => {
    const err = caught(() => decode(CSV, 'a,b\n"open,x\nmore'));
    expect({ code: err.code, message: err.message, where: err.fields.where }).toEqual({ code: '22P04', message: 'unterminated CSV quoted field', where: 'line 3' });
  });
});

describe('output formatting', () => {
  it.each<[string, string]>([
    ['plain', 'plain'],
    ['tab\there', 'tab\\there'],
    ['line\nbreak\r', 'line\\nbreak\\r'],
    ['back\\slash', 'back\\\\slash'],
    ['\b\f\v', '\\b\\f\\v'],
    ['\\N', '\\\\N'],
  ])('text escapes %j', (value, out) => {
    expect(escapeText(value, '\t')).toBe(out);
  });

  it('text escapes a custom delimiter and prints NULL', () => {
    const options = copyOptions([{ name: 'delimiter', value: '|' }], false);
    expect(formatRecord(['a|b', null, ''], options)).toBe('a\\|b|\\N|\n');
  });

  it.each<[string, string]>([
    ['plain', 'plain'],
    ['', '""'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
  ])('csv quotes %j', (value, out) => {
    expect(quoteCsv(value, CSV, false)).toBe(out);
  });

  it('csv: NULL is the bare NULL string, \\. is quoted in a one-column row, escape differs', () => {
    expect(formatRecord([null, '', 'x'], CSV)).toBe(',"",x\n');
    expect(formatRecord(['\\.'], CSV)).toBe('"\\."\n');
    expect(formatRecord(['\\.', 'y'], CSV)).toBe('\\.,y\n');
    const escaped = copyOptions([{ name: 'format', value: 'csv' }, { name: 'escape', value: '\\' }], false);
    expect(quoteCsv('a"b\\c', escaped, false)).toBe('"a\\"b\\\\c"');
  });

  it.each<[string, CopyOptions]>([
    ['text', TEXT],
    ['csv', CSV],
  ])('%s output reads back as the same values', (_name, options) => {
    const rows: (string | null)[][] = [
      ['a', null, ''],
      ['tab\t,comma', 'quote "', 'new\nline\r\n'],
      ['\\', '\\N', '€ 😀'],
    ];
    const text = rows.map((r) => formatRecord(r, options)).join('');
    expect(decode(options, text, 3).map((r) => r.fields)).toEqual(rows);
  });

  it('unescapeText leaves text without backslashes alone', () => {
    expect(unescapeText('plain')).toBe('plain');
  });
});

describe('records to values', () => {
  const columns = [
    { name: 'id', type: T.int4 },
    { name: 'v', type: T.text },
  ];

  it('parses each field with its type input function', () => {
    expect(decodeRecord({ line: 1, fields: ['7', null], text: '7\t\\N' }, 't', columns, { timeZone: 'UTC' })).toEqual([7, null]);
  });

  it.each<[string, (string | null)[], string, string, string]>([
    ['bad integer', ['x1', 'a'], '22P02', 'invalid input syntax for type integer: "x1"', 'COPY t, line 4, column id: "x1"'],
    ['out of range', ['99999999999', 'a'], '22003', 'value "99999999999" is out of range for type integer', 'COPY t, line 4, column id: "99999999999"'],
    ['missing column', ['1'], '22P04', 'missing data for column "v"', 'COPY t, line 4: "raw"'],
    ['extra column', ['1', 'a', 'b'], '22P04', 'extra data after last expected column', 'COPY t, line 4: "raw"'],
  ])('%s', (_name, fields, code, message, where) => {
    const err = caught(() => decodeRecord({ line: 4, fields, text: 'raw' }, 't', columns, { timeZone: 'UTC' }));
    expect({ code: err.code, message: err.message, where: err.fields.where }).toEqual({ code, message, where });
  });

  it('checks a HEADER MATCH line', () => {
    expect(() => checkHeader({ line: 1, fields: ['id', 'v'], text: '' }, ['id', 'v'])).not.toThrow();
    expect(caught(() => checkHeader({ line: 1, fields: ['id', 'w'], text: '' }, ['id', 'v'])).message).toBe('column name mismatch in header line field 2: got "w", expected "v"');
    expect(caught(() => checkHeader({ line: 1, fields: ['id'], text: '' }, ['id', 'v'])).message).toBe('wrong number of fields in header line: got 1, expected 2');
  });

  it('cuts long data in a context line as PostgreSQL does', () => {
    expect(displayed('x'.repeat(100))).toBe('x'.repeat(100));
    expect(displayed('y'.repeat(101))).toBe(`${'y'.repeat(100)}...`);
  });
});
