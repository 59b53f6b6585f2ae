// EXPLAIN's text layout, as PostgreSQL's: a node's title, its detail lines
// two columns further in, then its children, each behind "->  " at the
// details' column; "InitPlan n" groups come before the children,
// "SubPlan n" after.

/** What EXPLAIN ANALYZE measured of a node, summed over its loops. */
export interface Actual {
  readonly loops: number;
  readonly rows: number;
  readonly startupMs: number;
  readonly totalMs: number;
}

export interface ExplainNode {
  readonly title: string;
  /** VERBOSE: the node's output columns. */
  readonly output: readonly string[] | null;
  readonly details: readonly string[];
  /** Set by ANALYZE (null: the node never ran); undefined without ANALYZE. */
  readonly actual?: Actual | null;
  readonly children: readonly ExplainNode[];
  readonly subplans: readonly Subplan[];
}

export interface Subplan {
  /** "InitPlan 1" (run once before the statement) or "SubPlan 1" (per outer row). */
  readonly label: string;
  readonly initPlan: boolean;
  readonly plan: ExplainNode;
}

export interface LayoutOptions {
  /** ANALYZE with TIMING: times next to the row counts. */
  readonly timing: boolean;
}

export function formatPlan(root: ExplainNode, options: LayoutOptions): string[] {
  const lines: string[] = [];
  emit(root, 0, false, lines, options);
  return lines;
}

/** `column` is where the node's title starts; a child's arrow stands four columns before it. */
function emit(node: ExplainNode, column: number, arrow: boolean, lines: string[], options: LayoutOptions): void {
  const lead = arrow ? `${' '.repeat(column - 4)}->  ` : ' '.repeat(column);
  lines.push(`${lead}${node.title}${actualText(node.actual, options)}`);
  const inner = ' '.repeat(column + 2);
  if (node.output) lines.push(`${inner}Output: ${node.output.join(', ')}`);
  for (const d of node.details) lines.push(`${inner}${d}`);
  const group = (s: Subplan): void => {
    lines.push(`${inner}${s.label}`);
    emit(s.plan, column + 8, true, lines, options);
  };
  node.subplans.filter((s) => s.initPlan).forEach(group);
  for (const child of node.children) emit(child, column + 6, true, lines, options);
  node.subplans.filter((s) => !s.initPlan).forEach(group);
}

/** PostgreSQL's figures are per loop: average times and rows rounded. */
function actualText(actual: Actual | null | undefined, options: LayoutOptions): string {
  if (actual === undefined) return '';
  if (actual === null || actual.loops === 0) return ' (never executed)';
  const rows = Math.round(actual.rows / actual.loops);
  const time = options.timing ? `time=${ms(actual.startupMs / actual.loops)}..${ms(actual.totalMs / actual.loops)} ` : '';
  return ` (actual ${time}rows=${rows} loops=${actual.loops})`;
}

export function ms(value: number): string {
  return value.toFixed(3);
}
