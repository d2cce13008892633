/**
 * Text and numbers in the SVG documents the service renders (lib/domain/timeline-svg.ts): every
 * piece of text escaped, characters XML cannot carry at all dropped, coordinates finite.
 */

const MAX_TEXT = 160;

/**
 * True for code points XML 1.0 cannot carry even as character references: C0 controls
 * other than tab, newline and carriage return, surrogates, and U+FFFE/U+FFFF.
 */
export function isNotXmlChar(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    cp === 0xfffe ||
    cp === 0xffff
  );
}

/** Escapes text for XML element content and attribute values, replacing what XML cannot carry with U+FFFD. */
export function escapeXml(text: string): string {
  let out = '';
  // Iterating a string yields code points: a well-formed surrogate pair is one astral
  // character, a lone surrogate stays a surrogate and is replaced.
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (isNotXmlChar(cp)) out += '\ufffd';
    else if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else out += ch;
  }
  return out;
}

/** Shortens text to `max` code points (never splitting a surrogate pair), with an ellipsis. */
function clip(text: string, max = MAX_TEXT): string {
  const chars = Array.from(text.replace(/\s+/g, ' '));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

/** Escaped, clipped text. */
export function t(text: string, max?: number): string {
  return escapeXml(clip(text, max));
}

/** A coordinate: finite, one decimal. */
export function n(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

/** Milliseconds for people: 850 ms, 12.3 s, 4 min 05 s, 3 h 07 min, 2 d 04 h (a wait may last days). */
export function formatMs(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(a < 10_000 ? 2 : 1)} s`;
  const two = (x: number) => String(x).padStart(2, '0');
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min ${two(Math.floor((a % 60_000) / 1000))} s`;
  if (a < 86_400_000) return `${sign}${Math.floor(a / 3_600_000)} h ${two(Math.floor((a % 3_600_000) / 60_000))} min`;
  return `${sign}${Math.floor(a / 86_400_000)} d ${two(Math.floor((a % 86_400_000) / 3_600_000))} h`;
}

/** A longer span for people: 45 s, 12 min, 5 h, 30 d (an undo may come a year after its task). */
export function formatSpan(ms: number): string {
  const a = Math.max(0, ms);
  if (a < 60_000) return formatMs(a);
  if (a < 3_600_000) return `${Math.round(a / 60_000)} min`;
  if (a < 86_400_000) return `${Math.round(a / 3_600_000)} h`;
  return `${Math.round(a / 86_400_000)} d`;
}
