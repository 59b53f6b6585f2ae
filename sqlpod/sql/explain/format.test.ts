import { describe, expect, it } from 'vitest';
import { formatPlan, type ExplainNode } from './format.js';

const node = (title: string, over: Partial<ExplainNode> = {}): ExplainNode => ({ title, output: null, details: [], children: [], subplans: [], ...over });

describe('formatPlan', () => {
  const scan = node('Seq Scan on b', { details: ['Spans: FULL SCAN'] });
  const join = node('Hash Join', { details: ['Hash Cond: (a.id = b.id)'], children: [node('Seq Scan on a'), node('Hash', { children: [scan] })] });
  it.each([
    ['a lone node', node('Result'), { timing: false }, ['Result']],
    [
      'children behind arrows, details two columns in from their node',
      join,
      { timing: false },
      ['Hash Join', '  Hash Cond: (a.id = b.id)', '  ->  Seq Scan on a', '  ->  Hash', '        ->  Seq Scan on b', '              Spans: FULL SCAN'],
    ],
    [
      'InitPlans before the children, SubPlans after, each under its label',
      node('Seq Scan on t', {
        output: ['id'],
        details: ['Filter: (id > (InitPlan 1))'],
        subplans: [
          { label: 'SubPlan 2', initPlan: false, plan: node('Result') },
          { label: 'InitPlan 1', initPlan: true, plan: node('Aggregate', { children: [node('Seq Scan on u')] }) },
        ],
      }),
      { timing: false },
      ['Seq Scan on t', '  Output: id', '  Filter: (id > (InitPlan 1))', '  InitPlan 1', '    ->  Aggregate', '          ->  Seq Scan on u', '  SubPlan 2', '    ->  Result'],
    ],
    [
      'figures per loop: average times, rows rounded',
      node('Aggregate', { actual: { loops: 4, rows: 6, startupMs: 2, totalMs: 10 }, children: [node('Seq Scan on u', { actual: null })] }),
      { timing: true },
      ['Aggregate (actual time=0.500..2.500 rows=2 loops=4)', '  ->  Seq Scan on u (never executed)'],
    ],
    ['no times without TIMING', node('Limit', { actual: { loops: 1, rows: 3, startupMs: 1, totalMs: 1 } }), { timing: false }, ['Limit (actual rows=3 loops=1)']],
  ])('%s', (_name, root, options, lines) => {
    expect(formatPlan(root, options)).toEqual(lines);
  });
});
