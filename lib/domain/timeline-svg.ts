/**
 * Renders a run timeline as a standalone SVG document: a Gantt chart with one row per
 * task (bar from started_at to finished_at, coloured by status; a durable wait, for a
 * person's answer or a timer, as a dashed bar of its own), dependency edges, the
 * critical path highlighted, and a header with the run time, the critical path's task
 * time, its waits and the engine overhead. Pure and dependency-free; every piece of text is
 * escaped, and characters XML cannot carry at all are dropped, so the output is
 * well-formed whatever a task error says. No scripts, no external references.
 */
import { escapeXml, formatMs, n, t } from './svg-text.js';
import type { Timeline, TimelineTask } from './timeline.js';
import { UNDO_PATTERNS, undoLegend, undoMarks, undoText } from './timeline-undo-svg.js';

export { escapeXml, formatMs, isNotXmlChar } from './svg-text.js';

/** Fill colour of a task bar by status. */
export const STATUS_COLORS: Readonly<Record<string, string>> = {
  succeeded: '#2e7d32',
  failed: '#c62828',
  running: '#1565c0',
  waiting: '#7b1fa2',
  queued: '#90a4ae',
  pending: '#cfd8dc',
  skipped: '#bdbdbd',
  cancelled: '#6d4c41',
};
const UNKNOWN_COLOR = '#9e9e9e';
const CRITICAL_COLOR = '#ff8f00';
const EDGE_COLOR = '#90a4ae';
/** A durable wait (an approval's answer, a long delay's timer): dashed, light, whatever the task's status. */
const WAIT_COLOR = '#7b1fa2';

const LABEL_W = 200;
const CHART_W = 760;
const RIGHT_W = 240;
const ROW_H = 24;
const BAR_H = 14;
const HEADER_H = 92;
const AXIS_H = 22;
const LEGEND_H = 48;

/** A "nice" tick step so the axis has about `target` ticks. */
function tickStep(span: number, target = 8): number {
  const raw = Math.max(span / target, 1);
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow;
  return 10 * pow;
}

interface Placed {
  task: TimelineTask;
  row: number;
  /** Offsets from the run's creation, in ms; null when the task never started. */
  start: number | null;
  end: number | null;
}

/** The task's bar, as offsets from run creation (a running task extends to generated_at). */
function place(tl: Timeline, task: TimelineTask, row: number): Placed {
  const base = tl.createddate;
  const start = task.started_at === null ? null : task.started_at - base;
  let end: number | null = null;
  if (task.finished_at !== null) end = task.finished_at - base;
  else if (task.started_at !== null) {
    end = ['succeeded', 'failed', 'skipped', 'cancelled'].includes(task.status)
      ? task.started_at + (task.duration_ms ?? 0) - base
      : tl.generated_at - base;
  }
  return { task, row, start, end };
}

/** The timeline as an SVG document. */
export function renderTimelineSvg(tl: Timeline): string {
  const placed = tl.tasks.map((task, i) => place(tl, task, i));
  const byId = new Map(placed.map((p) => [p.task.task_id, p]));
  const span = Math.max(
    1,
    tl.run_ms,
    ...placed.flatMap((p) => [p.start ?? 0, p.end ?? 0]).filter((x) => Number.isFinite(x)),
    ...tl.tasks.map((task) => (task.wait ? task.wait.since - tl.createddate + task.wait.ms : 0)),
  );
  const x = (ms: number) => LABEL_W + (Math.min(Math.max(ms, 0), span) / span) * CHART_W;
  const chartTop = HEADER_H + AXIS_H;
  const y = (row: number) => chartTop + row * ROW_H + ROW_H / 2;
  const width = LABEL_W + CHART_W + RIGHT_W;
  const height = chartTop + Math.max(placed.length, 1) * ROW_H + LEGEND_H + 10;
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${n(height)}" viewBox="0 0 ${width} ${n(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-labelledby="tl-title">`,
    `<title id="tl-title">${t(`Timeline of run ${tl.peid}`)}</title>`,
    '<defs>',
    `<marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${EDGE_COLOR}"/></marker>`,
    `<marker id="arrow-critical" viewBox="0 0 8 8" refX="8" refY="4" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${CRITICAL_COLOR}"/></marker>`,
    ...UNDO_PATTERNS,
    '</defs>',
    `<rect x="0" y="0" width="${width}" height="${n(height)}" fill="#ffffff"/>`,
  );

  // Header.
  out.push(
    '<g class="header">',
    `<text x="12" y="22" font-size="15" font-weight="bold">${t(`${tl.playbook_name} — run ${tl.peid}`)}</text>`,
    `<text x="12" y="42">${t(`status: ${tl.execution_status}${tl.error ? ` (${tl.error.code}: ${tl.error.message})` : ''}`)}</text>`,
    `<text x="12" y="62">${t(`run time: ${formatMs(tl.run_ms)}${tl.execution_status === 'running' ? ' (so far)' : ''} · critical-path task time: ${formatMs(tl.critical_path_task_ms)}${tl.critical_path_wait_ms > 0 ? ` · waiting (answers, timers): ${formatMs(tl.critical_path_wait_ms)}` : ''} · engine overhead: ${formatMs(tl.engine_overhead_ms)}`, 200)}</text>`,
    `<text x="12" y="80" fill="${CRITICAL_COLOR}">${t(`critical path: ${tl.critical_path.length > 0 ? tl.critical_path.join(' → ') : '(none)'}`, 200)}</text>`,
    '</g>',
  );

  // Axis and grid.
  const step = tickStep(span);
  out.push('<g class="axis" font-size="10" fill="#546e7a">');
  for (let ms = 0; ms <= span + 1e-9; ms += step) {
    const px = n(x(ms));
    out.push(
      `<line x1="${px}" y1="${n(chartTop - 4)}" x2="${px}" y2="${n(chartTop + placed.length * ROW_H)}" stroke="#eceff1"/>`,
      `<text x="${px}" y="${n(chartTop - 8)}" text-anchor="middle">${t(formatMs(ms))}</text>`,
    );
  }
  out.push('</g>');

  // Row stripes and labels.
  out.push('<g class="rows">');
  for (const p of placed) {
    const top = chartTop + p.row * ROW_H;
    if (p.row % 2 === 1) out.push(`<rect x="0" y="${n(top)}" width="${width}" height="${ROW_H}" fill="#fafafa"/>`);
    out.push(
      `<text x="12" y="${n(y(p.row) + 4)}"${p.task.critical ? ` font-weight="bold" fill="${CRITICAL_COLOR}"` : ''}>${t(p.task.task_id, 28)}</text>`,
    );
  }
  out.push('</g>');

  // Dependency edges: from the end of a dependency to the start of its dependent.
  const critical = new Set<string>();
  for (let i = 1; i < tl.critical_path.length; i++) {
    critical.add(`${tl.critical_path[i - 1]}>${tl.critical_path[i]}`);
  }
  const edges: string[] = [];
  const criticalEdges: string[] = [];
  for (const p of placed) {
    for (const depId of new Set(p.task.depends_on)) {
      const d = byId.get(depId);
      if (!d) continue;
      const x1 = x(d.end ?? d.start ?? 0);
      const x2 = x(p.start ?? p.end ?? d.end ?? 0);
      const y1 = y(d.row);
      const y2 = y(p.row) + (y(p.row) > y1 ? -BAR_H / 2 : BAR_H / 2);
      const mid = Math.max(x1, Math.min(x2, x1 + 8));
      const path = `M${n(x1)},${n(y1)} H${n(mid)} V${n(y2)}${x2 > mid ? ` H${n(x2)}` : ''}`;
      if (critical.has(`${depId}>${p.task.task_id}`)) {
        criticalEdges.push(
          `<path d="${path}" fill="none" stroke="${CRITICAL_COLOR}" stroke-width="2.5" marker-end="url(#arrow-critical)"/>`,
        );
      } else {
        edges.push(`<path d="${path}" fill="none" stroke="${EDGE_COLOR}" stroke-width="1" marker-end="url(#arrow)"/>`);
      }
    }
  }
  out.push('<g class="edges">', ...edges, ...criticalEdges, '</g>');

  // Bars.
  out.push('<g class="bars">');
  for (const p of placed) {
    const task = p.task;
    const color = STATUS_COLORS[task.status] ?? UNKNOWN_COLOR;
    const tip = [
      `${task.task_id} (${task.type}): ${task.status}`,
      task.duration_ms === null ? null : `task time ${formatMs(task.duration_ms)}`,
      task.offset_ms === null ? 'never started' : `started at +${formatMs(task.offset_ms)}`,
      task.wait
        ? `waited ${formatMs(task.wait.ms)} (${task.wait.kind}${task.wait.ended_at === null && task.status === 'waiting' ? ', still waiting' : ''}; until +${formatMs(task.wait.until - tl.createddate)})`
        : null,
      task.attempts > 1 ? `${task.attempts} attempts (the last one is shown)` : null,
      task.critical ? 'on the critical path' : null,
      task.error ? `${task.error.code}: ${task.error.message}` : null,
      undoText(task)?.tip ?? null,
    ]
      .filter((s): s is string => s !== null)
      .join('\n');
    const cy = y(p.row);
    out.push(`<g class="task" data-task-id="${escapeXml(task.task_id)}" data-status="${escapeXml(task.status)}">`);
    out.push(`<title>${t(tip, 600)}</title>`);
    const wait = task.wait;
    if (wait) {
      // The wait, since..its end (or now), dashed: time neither the task nor the engine spent.
      const wx = x(wait.since - tl.createddate);
      const ww = Math.max(2, x(wait.since - tl.createddate + wait.ms) - wx);
      out.push(
        `<rect class="wait" x="${n(wx)}" y="${n(cy - BAR_H / 2)}" width="${n(ww)}" height="${BAR_H}" rx="2" fill="${WAIT_COLOR}" fill-opacity="0.18" stroke="${WAIT_COLOR}" stroke-width="1.5" stroke-dasharray="4,2"/>`,
      );
    }
    // A task still waiting, or cancelled while waiting, has no time of its own to draw besides its wait.
    const onlyWaited = wait !== null && wait.ended_at === null;
    if (!onlyWaited && p.start !== null && p.end !== null) {
      const x1 = x(p.start);
      const w = Math.max(2, x(p.end) - x1);
      const stroke = task.critical ? ` stroke="${CRITICAL_COLOR}" stroke-width="3"` : '';
      // The claim (started_at..finished_at) in a light shade; the task's own time, which
      // ends at finished_at, solid. The light part is engine time inside the claim.
      const work = task.finished_at !== null && task.duration_ms !== null ? task.duration_ms : null;
      if (work === null || work >= p.end - p.start) {
        out.push(
          `<rect x="${n(x1)}" y="${n(cy - BAR_H / 2)}" width="${n(w)}" height="${BAR_H}" rx="2" fill="${color}"${stroke}/>`,
        );
      } else {
        const wx = Math.max(x1, x(p.end - work));
        out.push(
          `<rect x="${n(x1)}" y="${n(cy - BAR_H / 2)}" width="${n(w)}" height="${BAR_H}" rx="2" fill="${color}" fill-opacity="0.3"${stroke}/>`,
          `<rect x="${n(wx)}" y="${n(cy - BAR_H / 2)}" width="${n(Math.max(2, x1 + w - wx))}" height="${BAR_H}" rx="2" fill="${color}"/>`,
        );
      }
      out.push(...undoMarks(task, x1, w, cy, BAR_H));
    } else if (!onlyWaited && p.end !== null) {
      // Never started (skipped or cancelled): a hollow marker where it was decided.
      const cx = x(p.end);
      out.push(
        `<rect x="${n(cx - 5)}" y="${n(cy - 5)}" width="10" height="10" fill="#ffffff" stroke="${color}" stroke-width="2" stroke-dasharray="2,2"/>`,
      );
    }
    const note = [
      task.status,
      wait ? `waited ${formatMs(wait.ms)}` : null,
      task.duration_ms === null ? null : formatMs(task.duration_ms),
      task.attempts > 1 ? `×${task.attempts}` : null,
      task.error ? task.error.code : null,
      undoText(task)?.note ?? null,
    ]
      .filter((s): s is string => s !== null)
      .join(' · ');
    out.push(
      `<text x="${n(LABEL_W + CHART_W + 10)}" y="${n(cy + 4)}" fill="${color === STATUS_COLORS.pending ? '#607d8b' : color}">${t(note, 48)}</text>`,
    );
    out.push('</g>');
  }
  out.push('</g>');

  // Legend.
  const legendY = chartTop + Math.max(placed.length, 1) * ROW_H + 20;
  out.push('<g class="legend" font-size="11">');
  let lx = 12;
  for (const [status, color] of Object.entries(STATUS_COLORS)) {
    out.push(
      `<rect x="${lx}" y="${n(legendY - 9)}" width="12" height="10" fill="${color}"/>`,
      `<text x="${lx + 16}" y="${n(legendY)}">${t(status)}</text>`,
    );
    lx += 24 + status.length * 7;
  }
  out.push(
    `<rect x="${lx}" y="${n(legendY - 9)}" width="12" height="10" fill="#ffffff" stroke="${CRITICAL_COLOR}" stroke-width="3"/>`,
    `<text x="${lx + 16}" y="${n(legendY)}">critical path</text>`,
    `<rect x="${lx + 110}" y="${n(legendY - 9)}" width="12" height="10" fill="${STATUS_COLORS.succeeded}" fill-opacity="0.3"/>`,
    `<text x="${lx + 126}" y="${n(legendY)}">engine time inside a claim (solid: the task's own time)</text>`,
    `<rect x="12" y="${n(legendY + 9)}" width="12" height="10" fill="${WAIT_COLOR}" fill-opacity="0.18" stroke="${WAIT_COLOR}" stroke-width="1.5" stroke-dasharray="4,2"/>`,
    `<text x="28" y="${n(legendY + 18)}">waiting for an answer or a timer (an approval, a delay over 900 s): neither task nor engine time</text>`,
    // Containments (docs/containment.md): the bar of a task with an undo shows its undo.
    ...undoLegend(legendY + 18),
    '</g>',
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
