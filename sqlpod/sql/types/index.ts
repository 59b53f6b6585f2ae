// Shoal's SQL types: PostgreSQL's built-in scalar types with their text and
// binary I/O, ordering, casts, operators, functions, aggregates, and the key
// and value encodings used in storage.
//
// Datum representation (the executor relies on it):
//   SQL NULL                        null
//   boolean                         boolean
//   smallint, integer, oid          number (integer)
//   bigint                          bigint
//   real, double precision          number (NaN and ±Infinity allowed)
//   numeric                         Numeric (bigint unscaled value + display scale; NaN, ±Infinity)
//   text, varchar, char(n), name,
//   unknown literals, uuid          string (uuid lowercase 8-4-4-4-12; char(n) blank-padded)
//   bytea                           Buffer
//   date                            number: days since 2000-01-01, ±Infinity for ±infinity
//   timestamp, timestamptz          bigint: µs since 2000-01-01 00:00 (UTC for timestamptz);
//                                   ±infinity are int64 max/min
//   interval                        Interval { months, days, micros }
//   jsonb                           Jsonb { value } (JSON null is a Jsonb whose value is null)
//   arrays (one-dimensional)        SqlArray { items } (NULL elements are null)
export {
  T,
  SqlArray,
  arrayOf,
  DEFAULT_CONTEXT,
  formatType,
  isSerialName,
  isStringType,
  sameType,
  typeByOid,
  typeFromName,
  type UserTypeLookup,
  withTypmod,
  type Datum,
  type SqlType,
  type TypeCategory,
  type TypeContext,
} from './catalog.js';
export { Numeric } from './numeric.js';
export { EnumLabels, enumType, sortOrderForNewLabel, type EnumLabel } from './enums.js';
export { Interval } from './interval.js';
export { timestampNow } from './datetime.js';
export { Jsonb, type JsonObject, type JsonValue } from './jsonb.js';
export { formatText, parseText } from './text-io.js';
export { formatBinary, parseBinary } from './binary-io.js';
export { compare } from './compare.js';
export { arrayValue } from './arrays.js';
export { castDatum, coerceToTypmod, findCast, type CastContext } from './casts.js';
export { resolveOperator, type OperatorFn, type ResolvedOperator } from './operators.js';
export { datumToJson, resolveFunction, type FunctionContext, type FunctionFn, type ResolvedFunction, type SettingsAccess } from './functions.js';
export { isAggregateName, resolveAggregate, type AggregateState, type ResolvedAggregate } from './aggregates.js';
export { HYPOTHETICAL_SET_AGGREGATES, ORDERED_SET_AGGREGATES, resolveOrderedSetAggregate } from './ordered-set.js';
export { KeyReader, KeyWriter, decodeKey, encodeKey } from './keys.js';
export { decodeValue, encodeValue } from './values.js';
