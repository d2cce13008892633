/**
 * ratios.svg, two panels: (1) the improvement factor of every row that compares the
 * product with a baseline (log scale, a tick at the row's target); (2) every row with an
 * absolute bound (peak RSS, bundle sizes, distance to the critical path, hit ratio) as
 * the share of its budget used, where 1 is the limit. Coloured by verdict. Rendered by
 * Vega's headless View (renderer 'none' + toSVG), no browser or canvas needed.
 */
import { parse, type Spec, View } from 'vega';
import type { Results } from './report.js';

type Verdict = 'pass' | 'miss' | 'info';

interface Bar {
  row: string;
  value: number;
  target: number | null;
  verdict: Verdict;
  label: string;
}

const verdictOf = (pass: boolean | null): Verdict => (pass === null ? 'info' : pass ? 'pass' : 'miss');
const label = (x: number, suffix: string) => `${x >= 10 ? x.toFixed(0) : x.toFixed(x >= 1 ? 1 : 2)}${suffix}`;

function improvementBars(results: Results): Bar[] {
  return results.cases
    .filter(
      (r) => r.ratio !== null && r.baseline !== null && (r.target_kind === 'ratio-min' || r.target_kind === 'info'),
    )
    .map((r) => ({
      row: r.name,
      value: r.ratio as number,
      target: r.target_kind === 'ratio-min' ? r.target_value : null,
      verdict: verdictOf(r.pass),
      label: label(r.ratio as number, 'x'),
    }));
}

/** Share of the budget used: <= 1 meets the bound. */
function budgetBars(results: Results): Bar[] {
  const out: Bar[] = [];
  for (const r of results.cases) {
    const limit = r.target_value;
    if (limit === null || limit === 0 || r.skipped) continue;
    let used: number | null = null;
    if (r.target_kind === 'value-max' && r.optimized !== null) used = r.optimized / limit;
    else if (r.target_kind === 'ratio-max' && r.ratio !== null) used = r.ratio / limit;
    else if (r.target_kind === 'value-min' && r.optimized !== null && r.optimized > 0) used = limit / r.optimized;
    if (used === null) continue;
    out.push({
      row: r.name,
      value: used,
      target: 1,
      verdict: verdictOf(r.pass),
      label: used.toFixed(2),
    });
  }
  return out;
}

const WIDTH = 520;
const ROW_HEIGHT = 24;

/** One horizontal bar panel as a Vega group mark. */
function panel(name: string, title: string, axisTitle: string, data: Bar[], top: number, log: boolean): object {
  const maxValue = Math.max(log ? 10 : 1.2, ...data.map((d) => Math.max(d.value, d.target ?? 0))) * (log ? 1.6 : 1.15);
  const minValue = log ? Math.min(0.5, ...data.map((d) => d.value)) * 0.8 : 0;
  const height = Math.max(ROW_HEIGHT * 2, data.length * ROW_HEIGHT);
  return {
    type: 'group',
    name,
    encode: { enter: { x: { value: 0 }, y: { value: top }, width: { value: WIDTH }, height: { value: height } } },
    title: { text: title, anchor: 'start', fontSize: 12, offset: 6 },
    data: [{ name: `${name}_rows`, values: data }],
    scales: [
      { name: 'y', type: 'band', domain: { data: `${name}_rows`, field: 'row' }, range: [0, height], padding: 0.25 },
      {
        name: 'x',
        type: log ? 'log' : 'linear',
        domain: [minValue, maxValue],
        range: [0, WIDTH],
        nice: false,
        zero: !log,
        clamp: true,
      },
    ],
    axes: [
      { orient: 'left', scale: 'y', labelFontSize: 11, labelLimit: 300 },
      { orient: 'bottom', scale: 'x', grid: true, tickCount: 6, title: axisTitle, format: '~g' },
    ],
    marks: [
      {
        type: 'rect',
        from: { data: `${name}_rows` },
        encode: {
          enter: {
            y: { scale: 'y', field: 'row' },
            height: { scale: 'y', band: 1 },
            x: { scale: 'x', value: minValue },
            x2: { scale: 'x', field: 'value' },
            fill: { scale: 'color', field: 'verdict' },
          },
        },
      },
      {
        type: 'text',
        from: { data: `${name}_rows` },
        encode: {
          enter: {
            y: { scale: 'y', field: 'row', band: 0.5 },
            x: { scale: 'x', field: 'value', offset: 4 },
            baseline: { value: 'middle' },
            text: { field: 'label' },
            fontSize: { value: 11 },
            fill: { value: '#212121' },
          },
        },
      },
      {
        type: 'rule',
        from: { data: `${name}_rows` },
        encode: {
          enter: {
            x: { scale: 'x', field: 'target' },
            y: { scale: 'y', field: 'row', offset: -3 },
            y2: { scale: 'y', field: 'row', band: 1, offset: 3 },
            stroke: { value: '#000000' },
            strokeWidth: { value: 2 },
            opacity: { signal: 'datum.target === null ? 0 : 1' },
          },
        },
      },
    ],
  };
}

/** The chart as an SVG document. */
export async function renderRatioChart(results: Results): Promise<string> {
  const improvements = improvementBars(results);
  const budgets = budgetBars(results);
  const h1 = Math.max(ROW_HEIGHT * 2, improvements.length * ROW_HEIGHT);
  const gap = 70;
  const top2 = h1 + gap;
  const h2 = Math.max(ROW_HEIGHT * 2, budgets.length * ROW_HEIGHT);
  const spec: Spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    description: 'Bench results: improvement factors over the baselines, and shares of absolute budgets',
    width: WIDTH,
    height: top2 + h2,
    padding: { left: 8, right: 40, top: 8, bottom: 8 },
    background: 'white',
    title: {
      text: 'playbook-service bench: product vs baseline',
      subtitle: `${results.mode} run ${results.date.slice(0, 10)}, Node ${results.node}; shared 2-core machine, only ratios carry; black tick = target`,
      anchor: 'start',
      fontSize: 14,
      subtitleFontSize: 10,
      offset: 14,
    },
    scales: [
      { name: 'color', type: 'ordinal', domain: ['pass', 'miss', 'info'], range: ['#2e7d32', '#c62828', '#9e9e9e'] },
    ],
    legends: [{ fill: 'color', orient: 'bottom', title: 'verdict', direction: 'horizontal' }],
    marks: [
      panel(
        'improvement',
        'Improvement factor over the baseline (higher is better, log scale)',
        'x times better than the baseline',
        improvements,
        0,
        true,
      ),
      panel(
        'budget',
        'Absolute bounds: share of the budget used (1 = the limit, lower is better)',
        'measured / limit',
        budgets,
        top2,
        false,
      ),
    ] as Spec['marks'],
  };
  const view = new View(parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
