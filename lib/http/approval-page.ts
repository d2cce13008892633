/**
 * The approval page an analyst opens from a chat message or a mail (GET /callbacks/{token}), and
 * the pages a form post is answered with. Pure string rendering: every value from a playbook or a
 * person is HTML-escaped; the page needs no script and loads nothing from elsewhere; its one style
 * sheet is inline and allowed by its hash in the Content-Security-Policy (no 'unsafe-inline').
 */
import { createHash } from 'node:crypto';
import { MAX_COMMENT_LENGTH } from '../domain/approval.js';

/** The page's only style sheet (its SHA-256 is in the CSP; change it and the hash follows). */
const STYLE = [
  'body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}',
  'main{max-width:40rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d9dde5;border-radius:8px}',
  'h1{font-size:1.3rem;margin:0 0 .75rem}',
  '.meta{color:#5b6475;font-size:.9rem;margin:0 0 1rem}',
  '.prompt{white-space:pre-wrap;overflow-wrap:anywhere;border-left:4px solid #3b6fd8;padding:.5rem .75rem;background:#f0f4fc;margin:0 0 1rem}',
  'label{display:block;font-weight:600;margin:0 0 .25rem}',
  'textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem}',
  '.choices{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0 0}',
  'button{font:inherit;padding:.5rem 1.25rem;border:1px solid #3b6fd8;border-radius:6px;background:#3b6fd8;color:#fff;cursor:pointer}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}',
  '.problem{color:#a3232f}',
].join('');

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

/** The strict policy of every callback page: nothing but the inline style above, posting only to itself. */
export const CALLBACK_CSP = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers of every callback answer (pages and JSON): never cached, never referred, never framed. */
export const CALLBACK_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** The headers of an HTML page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CALLBACK_CSP,
  'x-frame-options': 'DENY',
  ...CALLBACK_HEADERS,
};

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for an HTML element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    `<body><main>${body}</main></body>`,
    '</html>',
  ].join('\n');
}

export interface QuestionView {
  playbook_name: string;
  task_id: string;
  prompt: string;
  choices: readonly string[];
  expires_at: number;
}

/** The question: prompt, comment box, one button per choice; the form posts to this same URL. */
export function questionPage(q: QuestionView): string {
  const buttons = q.choices
    .map((c) => `<button type="submit" name="choice" value="${escapeHtml(c)}">${escapeHtml(c)}</button>`)
    .join('\n');
  return page(
    'Approval requested',
    [
      '<h1>Approval requested</h1>',
      `<p class="meta">Playbook <b>${escapeHtml(q.playbook_name)}</b>, task <code>${escapeHtml(q.task_id)}</code>. ` +
        `Answer before <time datetime="${isoTime(q.expires_at)}">${isoTime(q.expires_at)}</time>.</p>`,
      `<div class="prompt">${escapeHtml(q.prompt)}</div>`,
      '<form method="post">',
      '<label for="comment">Comment (optional)</label>',
      `<textarea id="comment" name="comment" rows="4" maxlength="${MAX_COMMENT_LENGTH}"></textarea>`,
      `<div class="choices">${buttons}</div>`,
      '</form>',
    ].join('\n'),
  );
}

export interface RecordedView {
  prompt: string;
  answer: { choice: string | null; by: string; comment: string | null; at: number };
}

/** What a form post recorded. */
export function recordedPage(r: RecordedView): string {
  const comment = r.answer.comment === null ? '<i>none</i>' : escapeHtml(r.answer.comment);
  return page(
    'Answer recorded',
    [
      '<h1>Answer recorded</h1>',
      `<div class="prompt">${escapeHtml(r.prompt)}</div>`,
      '<dl>',
      `<dt>Choice</dt><dd>${escapeHtml(r.answer.choice ?? '')}</dd>`,
      `<dt>Comment</dt><dd>${comment}</dd>`,
      `<dt>At</dt><dd><time datetime="${isoTime(r.answer.at)}">${isoTime(r.answer.at)}</time></dd>`,
      '</dl>',
      '<p class="meta">The playbook continues with this answer. This link can no longer be used.</p>',
    ].join('\n'),
  );
}

/** A spent, expired or unknown link (404), the same page whatever the reason. */
export function notFoundPage(): string {
  return page(
    'Link not valid',
    [
      '<h1>This link is not valid</h1>',
      '<p>The question was answered, timed out or was cancelled, or the link is wrong. Nothing was recorded.</p>',
    ].join('\n'),
  );
}

/** A refused answer (400, 413, ...) or a failure (5xx): what went wrong, nothing recorded. */
export function problemPage(
  status: number,
  message: string,
  details: ReadonlyArray<{ path: string; message: string }>,
) {
  const items = details.map((d) => `<li><code>${escapeHtml(d.path)}</code>: ${escapeHtml(d.message)}</li>`).join('');
  return page(
    'Answer not recorded',
    [
      '<h1>Answer not recorded</h1>',
      `<p class="problem">${escapeHtml(message)} (HTTP ${status})</p>`,
      items.length > 0 ? `<ul>${items}</ul>` : '',
      '<p>Go back to the question to answer again.</p>',
    ].join('\n'),
  );
}
