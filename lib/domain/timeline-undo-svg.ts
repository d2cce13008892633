/**
 * How a timeline shows a task's containment and its undo (docs/containment.md): the bar of a task
 * whose undo ran is hatched (reversed, or failed and possibly still in effect) with a ↶ after it,
 * the bar of a containment still in effect is outlined; the note and the tooltip say by what and
 * when. The legend explains the three.
 */
import { escapeXml, formatSpan, n } from './svg-text.js';
import type { TimelineTask } from './timeline.js';

/** A containment's undo: reversed (hatched), failed (hatched), or in effect (outlined). */
export const UNDO_COLORS = { undone: '#6a1b9a', undo_failed: '#e65100', in_effect: '#6a1b9a' } as const;

/** The hatch patterns of undone and failed undos (inside the document's defs). */
export const UNDO_PATTERNS = [
  `<pattern id="undone" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff" fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="${UNDO_COLORS.undone}" stroke-width="3"/></pattern>`,
  `<pattern id="undo-failed" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#ffffff" fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="${UNDO_COLORS.undo_failed}" stroke-width="3"/></pattern>`,
];

/** What the note and the tooltip say of a task's undo, or null when it has none. */
export function undoText(task: TimelineTask): { note: string; tip: string } | null {
  const u = task.undo;
  if (!u) return null;
  const after = (at: number | null) =>
    at === null || task.finished_at === null ? '' : ` ${formatSpan(at - task.finished_at)} after it succeeded`;
  const by = u.by === null ? '' : ` by ${u.by}`;
  const tries = u.attempts > 1 ? ` (${u.attempts} attempts)` : '';
  switch (u.status) {
    case 'undone':
      return { note: `undone${by}`, tip: `undo: undone${by}${after(u.finished_at)}${tries}` };
    case 'undo_failed':
      return {
        note: 'undo failed',
        tip: `undo: failed${by}${after(u.finished_at)}${tries}${u.error ? ` — ${u.error.code}: ${u.error.message}` : ''}; the containment may still be in effect`,
      };
    case 'undoing':
      return { note: 'undoing', tip: `undo: running${by}${tries}` };
    default:
      return {
        note: u.undo_at === null ? 'in effect' : `undo in ${formatSpan(u.undo_at - (task.finished_at ?? u.undo_at))}`,
        tip: `containment in effect: ${u.undo_at === null ? 'undone only by a rollback' : `its undo runs by itself${after(u.undo_at)}`}`,
      };
  }
}

/** The marks of a task's undo over its bar (x1, width w, centre cy): hatched when undone or failed, outlined while in effect. */
export function undoMarks(task: TimelineTask, x1: number, w: number, cy: number, barH: number): string[] {
  const u = task.undo;
  if (!u) return [];
  const box = `x="${n(x1)}" y="${n(cy - barH / 2)}" width="${n(w)}" height="${barH}" rx="2"`;
  const glyph = (color: string) =>
    `<text class="undo" x="${n(x1 + w + 3)}" y="${n(cy + 4)}" font-size="12" fill="${color}">↶</text>`;
  if (u.status === 'undone') {
    return [`<rect class="undo undone" ${box} fill="url(#undone)"/>`, glyph(UNDO_COLORS.undone)];
  }
  if (u.status === 'undo_failed') {
    return [`<rect class="undo undo-failed" ${box} fill="url(#undo-failed)"/>`, glyph(UNDO_COLORS.undo_failed)];
  }
  return [
    `<rect class="undo in-effect" ${box} fill="none" stroke="${UNDO_COLORS.in_effect}" stroke-width="2" stroke-dasharray="3,2"/>`,
  ];
}

/** The legend's line of the three (its text baseline at `y`). */
export function undoLegend(y: number): string[] {
  const entry = (x: number, swatch: string, text: string) => [
    `<rect x="${x}" y="${n(y - 9)}" width="12" height="10" ${swatch}/>`,
    `<text x="${x + 16}" y="${n(y)}">${escapeXml(text)}</text>`,
  ];
  return [
    ...entry(
      12,
      `fill="url(#undone)" stroke="${UNDO_COLORS.undone}"`,
      "↶ undone: the task's containment was reversed by its undo (a rollback, or its expiry)",
    ),
    ...entry(
      540,
      `fill="url(#undo-failed)" stroke="${UNDO_COLORS.undo_failed}"`,
      '↶ undo failed: may still be in effect',
    ),
    ...entry(
      800,
      `fill="none" stroke="${UNDO_COLORS.in_effect}" stroke-width="2" stroke-dasharray="3,2"`,
      'containment in effect (its undo not run yet)',
    ),
  ];
}
