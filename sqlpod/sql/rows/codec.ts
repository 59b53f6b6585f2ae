// How a table's rows and index entries are laid out in KV (design brief,
// "Keyspace"): the primary index maps /<tenant>/<table>/1/<key columns> to the
// other columns, tagged by column id so that adding and dropping columns needs
// no rewrite; a secondary index maps /<tenant>/<table>/<index>/<index columns>
// [/<primary key columns>] to the primary key (unique entries) or to nothing.
import { encodeUvarint, decodeUvarint } from '../../../shared/keys/index.js';
import { PRIMARY_INDEX_ID, type IndexDescriptor, type TableDescriptor } from '../catalog/descriptors.js';
import type { Keyspace } from '../catalog/keyspace.js';
import { SQLSTATE, SqlError } from '../errors.js';
import type { Row } from '../plan/expr.js';
import { columnType, type TypeSource } from '../catalog/catalog.js';
import { KeyReader, KeyWriter, decodeKey, decodeValue, encodeKey, encodeValue, type Datum, type SqlType } from '../types/index.js';

/**
 * First byte of every row and index value: lets the format change later.
 * Row values: FORMAT_V1, then per non-NULL non-key column: uvarint column id,
 * uvarint length, value bytes (so a dropped column's bytes can be skipped).
 * A NULL is normally just absent, but absent means "the missing value" for a
 * column added with a default, so those columns' NULLs are listed explicitly:
 * under the reserved column id 0, whose bytes are the NULL columns' uvarint ids.
 */
const FORMAT_V1 = 1;
const NULL_COLUMNS_ID = 0;

export interface IndexEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

export class RowCodec {
  readonly types: readonly SqlType[];
  private readonly slotOf = new Map<number, number>();
  private readonly pkSlots: readonly number[];
  private readonly pkSlotSet: ReadonlySet<number>;
  private readonly pkDescending: readonly boolean[];
  private readonly valueSlots: readonly number[];
  private readonly missing: readonly Datum[];
  private readonly nullMarkedSlots: readonly number[];
  readonly primaryPrefix: Buffer;

  constructor(
    private readonly ks: Keyspace,
    types: TypeSource,
    readonly table: TableDescriptor,
  ) {
    this.types = table.columns.map((c) => columnType(types, c));
    table.columns.forEach((c, i) => this.slotOf.set(c.id, i));
    this.pkSlots = table.primaryKey.columnIds.map((id) => this.slot(id));
    this.pkDescending = table.primaryKey.descending;
    const pk = new Set(this.pkSlots);
    this.pkSlotSet = pk;
    this.valueSlots = table.columns.map((_, i) => i).filter((i) => !pk.has(i));
    this.missing = table.columns.map((c, i) =>
      c.missingValue === null ? null : decodeValue(this.types[i] as SqlType, new KeyReader(Buffer.from(c.missingValue, 'base64'))),
    );
    this.nullMarkedSlots = this.valueSlots.filter((slot) => this.missing[slot] !== null);
    this.primaryPrefix = ks.indexPrefix(table.id, PRIMARY_INDEX_ID);
  }

  slot(columnId: number): number {
    const s = this.slotOf.get(columnId);
    if (s === undefined) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `table ${this.table.name} has no column id ${columnId}`);
    return s;
  }

  primaryKey(row: Row): Buffer {
    const w = new KeyWriter();
    w.write(this.primaryPrefix);
    this.pkSlots.forEach((slot, i) => encodeKey(this.types[slot] as SqlType, row[slot] ?? null, this.pkDescending[i] ?? false, w));
    return w.finish();
  }

  /** The key prefix of an index for values of its leading columns. */
  indexKeyPrefix(index: IndexDescriptor, values: readonly Datum[]): Buffer {
    const w = new KeyWriter();
    w.write(this.ks.indexPrefix(this.table.id, index.id));
    values.forEach((v, i) => {
      const slot = this.slot(index.columnIds[i] ?? 0);
      encodeKey(this.types[slot] as SqlType, v, index.descending[i] ?? false, w);
    });
    return w.finish();
  }

  encodeRowValue(row: Row): Buffer {
    const w = new KeyWriter();
    w.write(Buffer.from([FORMAT_V1]));
    for (const slot of this.valueSlots) {
      const v = row[slot] ?? null;
      if (v === null) continue;
      const one = new KeyWriter();
      encodeValue(this.types[slot] as SqlType, v, one);
      const bytes = one.finish();
      w.write(encodeUvarint(this.table.columns[slot]?.id ?? 0));
      w.write(encodeUvarint(bytes.length));
      w.write(bytes);
    }
    const nullIds = this.nullMarkedSlots.filter((slot) => (row[slot] ?? null) === null).map((slot) => encodeUvarint(this.table.columns[slot]?.id ?? 0));
    if (nullIds.length > 0) {
      const bytes = Buffer.concat(nullIds);
      w.write(encodeUvarint(NULL_COLUMNS_ID));
      w.write(encodeUvarint(bytes.length));
      w.write(bytes);
    }
    return w.finish();
  }

  /** A full row from a primary index entry; columns added later read as their missing value. */
  decodeRow(key: Buffer, value: Buffer): Row {
    const row: Row = [...this.missing];
    const r = new KeyReader(key, this.primaryPrefix.length);
    this.pkSlots.forEach((slot, i) => (row[slot] = decodeKey(this.types[slot] as SqlType, this.pkDescending[i] ?? false, r)));
    if (value[0] !== FORMAT_V1) throw new SqlError(SQLSTATE.INTERNAL_ERROR, `row of ${this.table.name} has unknown format ${value[0] ?? 'none'}`);
    let offset = 1;
    while (offset < value.length) {
      const id = decodeUvarint(value, offset);
      const size = decodeUvarint(value, offset + id.length);
      const start = offset + id.length + size.length;
      offset = start + size.value;
      if (id.value === NULL_COLUMNS_ID) {
        this.clearNullColumns(value.subarray(start, offset), row);
        continue;
      }
      const slot = this.slotOf.get(id.value);
      // A dropped column's value stays in old rows until they are written again.
      if (slot === undefined || this.pkSlotSet.has(slot)) continue;
      row[slot] = decodeValue(this.types[slot] as SqlType, new KeyReader(value.subarray(start, offset)));
    }
    return row;
  }

  private clearNullColumns(ids: Buffer, row: Row): void {
    for (let at = 0; at < ids.length; ) {
      const id = decodeUvarint(ids, at);
      at += id.length;
      const slot = this.slotOf.get(id.value);
      if (slot !== undefined && !this.pkSlotSet.has(slot)) row[slot] = null;
    }
  }

  /** The entry a secondary index holds for a row. */
  indexEntry(index: IndexDescriptor, row: Row): IndexEntry {
    const w = new KeyWriter();
    w.write(this.ks.indexPrefix(this.table.id, index.id));
    let hasNull = false;
    index.columnIds.forEach((id, i) => {
      const slot = this.slot(id);
      const v = row[slot] ?? null;
      if (v === null) hasNull = true;
      encodeKey(this.types[slot] as SqlType, v, index.descending[i] ?? false, w);
    });
    // Unique entries are one per key; NULLs never collide (as in PostgreSQL), so they get the row's key as suffix.
    const suffixed = !index.unique || hasNull;
    const pk = new KeyWriter();
    this.pkSlots.forEach((slot, i) => encodeKey(this.types[slot] as SqlType, row[slot] ?? null, this.pkDescending[i] ?? false, pk));
    const pkBytes = pk.finish();
    if (suffixed) w.write(pkBytes);
    const value = suffixed ? Buffer.from([FORMAT_V1]) : Buffer.concat([Buffer.from([FORMAT_V1]), pkBytes]);
    return { key: w.finish(), value };
  }

  /** The primary key of the row an index entry points at. */
  primaryKeyOf(index: IndexDescriptor, entry: IndexEntry): Buffer {
    const r = new KeyReader(entry.key, this.ks.indexPrefix(this.table.id, index.id).length);
    index.columnIds.forEach((id, i) => decodeKey(this.types[this.slot(id)] as SqlType, index.descending[i] ?? false, r));
    const pkBytes = r.offset < entry.key.length ? entry.key.subarray(r.offset) : entry.value.subarray(1);
    return Buffer.concat([this.primaryPrefix, pkBytes]);
  }

  /** Whether the row's index entry is subject to the unique check (no NULL in its columns). */
  uniqueKeyOf(index: IndexDescriptor, row: Row): readonly Datum[] | null {
    const values = index.columnIds.map((id) => row[this.slot(id)] ?? null);
    return values.includes(null) ? null : values;
  }
}
