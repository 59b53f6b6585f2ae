// What nextval gives: pure, so the engine's KV transaction only reads and
// writes the counter.
import type { SequenceDescriptor } from './catalog/descriptors.js';
import type { SequenceLimits } from './catalog/system/relations.js';
import { SQLSTATE, SqlError } from './errors.js';

/**
 * The `count` values after `stored` (the last value given, or the one before
 * the next as setval(…, false) and RESTART store it; null before the first
 * nextval, which gives START). Past the bound a CYCLE sequence starts over at
 * MINVALUE (MAXVALUE going down); otherwise 2200H, as PostgreSQL's message.
 */
export function nextSequenceValues(stored: bigint | null, sequence: Pick<SequenceDescriptor, 'name' | 'start' | 'increment'>, limits: Pick<SequenceLimits, 'min' | 'max' | 'cycle'>, count: number): bigint[] {
  const increment = BigInt(sequence.increment);
  const values: bigint[] = [];
  let last = stored;
  for (let i = 0; i < count; i++) {
    let next = last === null ? BigInt(sequence.start) : last + increment;
    if (next > limits.max || next < limits.min) {
      const up = next > limits.max;
      if (!limits.cycle) {
        throw new SqlError(
          SQLSTATE.SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
          `nextval: reached ${up ? 'maximum' : 'minimum'} value of sequence "${sequence.name}" (${up ? limits.max : limits.min})`,
        );
      }
      next = up ? limits.min : limits.max;
    }
    values.push(next);
    last = next;
  }
  return values;
}
