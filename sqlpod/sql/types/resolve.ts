// PostgreSQL's overload resolution (parse_func.c func_select_candidate and
// parse_oper.c), shared by operators and functions: exact match, then the
// candidates reachable by implicit casts, narrowed by exact-type matches,
// preferred types, and the category of unknown-typed literals.
import { PSEUDO, T, type SqlType } from './catalog.js';
import { findCast } from './casts.js';

export interface Candidate {
  readonly args: readonly SqlType[];
}

function isPolymorphic(t: SqlType): boolean {
  return t.oid === PSEUDO.any.oid || t.oid === PSEUDO.anynonarray.oid;
}

export function canCoerceImplicitly(input: SqlType, target: SqlType): boolean {
  if (input.oid === target.oid || isPolymorphic(target) || input.oid === T.unknown.oid) return true;
  return findCast(input, target, 'implicit') !== null;
}

/** The one best candidate, 'none' when nothing matches, 'ambiguous' when several remain. */
export function selectCandidate<C extends Candidate>(all: readonly C[], inputs: readonly SqlType[]): C | 'none' | 'ambiguous' {
  const exact = all.find((c) => c.args.length === inputs.length && c.args.every((a, i) => a.oid === inputs[i]?.oid));
  if (exact !== undefined) return exact;
  let cands = all.filter((c) => c.args.length === inputs.length && c.args.every((a, i) => canCoerceImplicitly(inputs[i] ?? T.unknown, a)));
  if (cands.length === 0) return 'none';
  if (cands.length === 1) return cands[0] ?? 'none';
  const unknown = (i: number): boolean => inputs[i]?.oid === T.unknown.oid;
  const keepBest = (score: (c: C) => number): void => {
    const scores = cands.map(score);
    const best = Math.max(...scores);
    cands = cands.filter((_c, i) => scores[i] === best);
  };
  // Most exact matches on the known inputs.
  keepBest((c) => c.args.filter((a, i) => !unknown(i) && a.oid === inputs[i]?.oid).length);
  if (cands.length === 1) return cands[0] ?? 'none';
  // Most exact-or-preferred types where coercion is needed (preferred within the input's category).
  keepBest(
    (c) => c.args.filter((a, i) => !unknown(i) && (a.oid === inputs[i]?.oid || (a.preferred && a.category === inputs[i]?.category))).length,
  );
  if (cands.length === 1) return cands[0] ?? 'none';
  const nunknown = inputs.filter((t) => t.oid === T.unknown.oid).length;
  if (nunknown === 0) return 'ambiguous';
  // Unknown literals: choose a type category per position (string wins conflicts), preferring preferred types.
  let resolved = true;
  const slotCategory: (string | null)[] = [];
  const slotPreferred: boolean[] = [];
  for (let i = 0; i < inputs.length && resolved; i++) {
    if (!unknown(i)) continue;
    let cat: string | null = null;
    let pref = false;
    let conflict = false;
    for (const c of cands) {
      const a = c.args[i] ?? T.unknown;
      if (cat === null) {
        cat = a.category;
        pref = a.preferred;
      } else if (a.category === cat) pref ||= a.preferred;
      else if (a.category === 'S') {
        cat = 'S';
        pref = a.preferred;
      } else conflict = true;
    }
    if (conflict && cat !== 'S') resolved = false;
    slotCategory[i] = cat;
    slotPreferred[i] = pref;
  }
  if (resolved) {
    const kept = cands.filter((c) =>
      c.args.every((a, i) => !unknown(i) || (a.category === slotCategory[i] && (!slotPreferred[i] || a.preferred))),
    );
    if (kept.length === 1) return kept[0] ?? 'none';
    if (kept.length > 0) cands = kept;
  }
  // Last resort: all known inputs share one type; treat the unknowns as that type too.
  if (nunknown < inputs.length) {
    const known = inputs.filter((t) => t.oid !== T.unknown.oid);
    const first = known[0];
    if (first !== undefined && known.every((t) => t.oid === first.oid)) {
      const matches = cands.filter((c) => c.args.every((a) => canCoerceImplicitly(first, a)));
      if (matches.length === 1) return matches[0] ?? 'none';
    }
  }
  return 'ambiguous';
}
