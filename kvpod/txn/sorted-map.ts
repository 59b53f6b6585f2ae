// sorted-btree is CommonJS with its class on exports.default. Node's ESM
// loader hands over module.exports (so the class is at .default); Vite, which
// runs the tests, unwraps it already. Resolve both once, here.
import sortedBtree from 'sorted-btree';
import type BTreeModule from 'sorted-btree';

type BTreeClass = typeof sortedBtree.default;
const loaded = sortedBtree as unknown as BTreeClass & { default?: BTreeClass };

/** An ordered map (B+ tree) with a custom comparator. */
export const SortedMap: BTreeClass = loaded.default ?? loaded;
export type SortedMap<K, V> = BTreeModule.default<K, V>;
