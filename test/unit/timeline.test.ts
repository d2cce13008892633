import { describe, expect, it } from 'vitest';
import {
  buildTimeline,
  criticalPath,
  type TimelineRunInput,
  type TimelineTaskInput,
} from '../../lib/domain/timeline.js';
import { escapeXml, formatMs, isNotXmlChar, renderTimelineSvg } from '../../lib/domain/timeline-svg.js';
import { timelineFormat, timelineQuery } from '../../lib/http/timeline.js';

const T0 = 1_764_230_400_000;

let seq = 0;
/** A task that ran from +start to +end (ms after run creation), with `work` ms of task time. */
function ran(
  id: string,
  deps: string[],
  start: number,
  end: number,
  extra: Partial<TimelineTaskInput> = {},
): TimelineTaskInput {
  seq += 1;
  return {
    task_seq: seq,
    task_id: id,
    type: 'http',
    status: 'succeeded',
    attempts: 1,
    depends_on: deps,
    started_at: T0 + start,
    finished_at: T0 + end,
    duration_ms: end - start - 2,
    error: null,
    ...extra,
  };
}

/** A task that never started: skipped or cancelled at +at, or still pending (at = null). */
function notRun(id: string, deps: string[], status: string, at: number | null): TimelineTaskInput {
  seq += 1;
  return {
    task_seq: seq,
    task_id: id,
    type: 'noop',
    status,
    attempts: 0,
    depends_on: deps,
    started_at: null,
    finished_at: at === null ? null : T0 + at,
    duration_ms: null,
    error: null,
  };
}

function run(status: string, completedAt: number | null, extra: Partial<TimelineRunInput> = {}): TimelineRunInput {
  return {
    peid: '6f1c2d1e-0000-4000-8000-000000000001',
    playbook_name: 'pb',
    execution_status: status,
    createddate: T0,
    completeddate: completedAt === null ? null : T0 + completedAt,
    error: null,
    ...extra,
  };
}

describe('critical path', () => {
  it('is the whole chain of a chain, and overhead is run time minus task time', () => {
    const tasks = [ran('a', [], 10, 60), ran('b', ['a'], 70, 170), ran('c', ['b'], 180, 200)];
    const tl = buildTimeline(run('completed', 210), tasks, T0 + 10_000);
    expect(tl.critical_path).toEqual(['a', 'b', 'c']);
    expect(tl.critical_path_task_ms).toBe(48 + 98 + 18);
    expect(tl.run_ms).toBe(210);
    expect(tl.engine_overhead_ms).toBe(210 - 164);
    expect(tl.tasks.map((t) => [t.task_id, t.offset_ms, t.critical])).toEqual([
      ['a', 10, true],
      ['b', 70, true],
      ['c', 180, true],
    ]);
  });

  it('goes through the slow branch of a diamond', () => {
    const tasks = [
      ran('start', [], 5, 10),
      ran('slow', ['start'], 20, 330),
      ran('fast', ['start'], 21, 45),
      ran('join', ['slow', 'fast'], 340, 345),
    ];
    const tl = buildTimeline(run('completed', 350), tasks, T0 + 400);
    expect(tl.critical_path).toEqual(['start', 'slow', 'join']);
    expect(tl.tasks.find((t) => t.task_id === 'fast')?.critical).toBe(false);
    expect(tl.critical_path_task_ms).toBe(3 + 308 + 3);
    expect(tl.engine_overhead_ms).toBe(350 - 314);
  });

  it('is the one task that finished last in a parallel fan-out', () => {
    const tasks = [ran('f0', [], 5, 50), ran('f1', [], 6, 90), ran('f2', [], 7, 60), ran('f3', [], 8, 89)];
    expect(criticalPath(run('completed', 95), tasks, T0 + 100).path).toEqual(['f1']);
  });

  it('ends at the join after a fan-out, through the branch that finished last', () => {
    const fan = [ran('f0', [], 5, 50), ran('f1', [], 6, 90), ran('f2', [], 7, 60)];
    const tasks = [...fan, ran('join', ['f0', 'f1', 'f2'], 100, 110)];
    expect(criticalPath(run('completed', 120), tasks, T0 + 200).path).toEqual(['f1', 'join']);
  });

  it('leaves out a skipped branch even when it was decided last', () => {
    const tasks = [
      ran('score', [], 5, 20),
      notRun('block', ['score'], 'skipped', 30),
      ran('notify', ['score'], 25, 28),
      ran('after_any', ['block', 'notify'], 40, 45, { type: 'noop' }),
      notRun('after_all', ['block', 'notify'], 'skipped', 35),
    ];
    const tl = buildTimeline(run('completed', 50), tasks, T0 + 60);
    expect(tl.critical_path).toEqual(['score', 'notify', 'after_any']);
    expect(tl.tasks.find((t) => t.task_id === 'block')).toMatchObject({
      critical: false,
      offset_ms: null,
      duration_ms: null,
    });
  });

  it('takes skipped tasks only when unavoidable: nothing ran at all', () => {
    const tasks = [notRun('root', [], 'skipped', 3), notRun('next', ['root'], 'skipped', 4)];
    const tl = buildTimeline(run('completed', 6), tasks, T0 + 10);
    expect(tl.critical_path).toEqual(['root', 'next']);
    expect(tl.critical_path_task_ms).toBe(0);
    expect(tl.engine_overhead_ms).toBe(6);
  });

  it('is empty when no task has any time yet', () => {
    const tasks = [notRun('a', [], 'queued', null), notRun('b', ['a'], 'pending', null)];
    const tl = buildTimeline(run('running', null), tasks, T0 + 30);
    expect(tl.critical_path).toEqual([]);
    expect(tl.critical_path_task_ms).toBe(0);
    expect(tl.run_ms).toBe(30);
    expect(tl.engine_overhead_ms).toBe(30);
  });

  it('counts a running task up to now in a running run', () => {
    const tasks = [
      ran('a', [], 10, 50),
      ran('b', ['a'], 60, 0, { status: 'running', finished_at: null, duration_ms: null }),
      ran('c', ['a'], 61, 80),
      notRun('d', ['b', 'c'], 'pending', null),
    ];
    const tl = buildTimeline(run('running', null), tasks, T0 + 500);
    expect(tl.run_ms).toBe(500);
    expect(tl.critical_path).toEqual(['a', 'b']);
    expect(tl.critical_path_task_ms).toBe(38 + 440);
    expect(tl.engine_overhead_ms).toBe(500 - 478);
    expect(tl.tasks.find((t) => t.task_id === 'b')).toMatchObject({ duration_ms: null, offset_ms: 60 });
  });

  it('counts a task waiting for its retry as in progress', () => {
    const tasks = [
      ran('a', [], 10, 50),
      ran('b', ['a'], 60, 0, { status: 'queued', attempts: 1, finished_at: null, duration_ms: 30 }),
      ran('c', ['a'], 61, 200),
    ];
    expect(criticalPath(run('running', null), tasks, T0 + 300).path).toEqual(['a', 'b']);
  });

  it('ends a failed run at the task that failed it, not at one still running after', () => {
    const tasks = [
      ran('doomed', [], 10, 40, { status: 'failed', error: { code: 'HTTP_STATUS', message: '503' } }),
      ran('slow', [], 11, 5000),
      notRun('after', ['doomed'], 'cancelled', 42),
    ];
    const tl = buildTimeline(run('failed', 42), tasks, T0 + 6000);
    expect(tl.critical_path).toEqual(['doomed']);
    expect(tl.engine_overhead_ms).toBeGreaterThanOrEqual(0);
  });

  it('with join any, walks back through the dependency that gated the start', () => {
    // `any` started after `quick` succeeded, before `late` finished.
    const tasks = [ran('quick', [], 5, 20), ran('late', [], 6, 300), ran('any', ['quick', 'late'], 30, 400)];
    expect(criticalPath(run('completed', 410), tasks, T0 + 500).path).toEqual(['quick', 'any']);
  });

  it('falls back to finished_at - started_at for a reaped task without a duration', () => {
    const tasks = [ran('lost', [], 10, 1010, { status: 'failed', duration_ms: null })];
    const tl = buildTimeline(run('failed', 1020), tasks, T0 + 2000);
    expect(tl.critical_path_task_ms).toBe(1000);
    expect(tl.engine_overhead_ms).toBe(20);
  });

  it('is stable and terminates on ties, duplicate dependencies and unknown ids', () => {
    const tasks = [ran('a', [], 10, 50), ran('b', [], 10, 50), ran('c', ['a', 'a', 'b', 'ghost'], 60, 70)];
    expect(criticalPath(run('completed', 80), tasks, T0 + 100).path).toEqual(['a', 'c']);
  });

  it('orders tasks by task_seq whatever the input order', () => {
    const a = ran('a', [], 10, 50);
    const b = ran('b', ['a'], 60, 70);
    const tl = buildTimeline(run('completed', 80), [b, a], T0 + 100);
    expect(tl.tasks.map((t) => t.task_id)).toEqual(['a', 'b']);
  });
});

/** A small well-formedness check: one root <svg>, every tag closed in order, only known entities. */
function assertWellFormed(xml: string): void {
  expect(xml.startsWith('<svg ')).toBe(true);
  expect(xml.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|>/g;
  let last = 0;
  for (let m = tag.exec(xml); m !== null; m = tag.exec(xml)) {
    const text = xml.slice(last, m.index);
    for (const ent of text.match(/&[^;\s]*;?/g) ?? []) {
      expect(ent).toMatch(/^&(amp|lt|gt|quot|apos);$/);
    }
    last = tag.lastIndex;
    if (m[0] === '<' || m[0] === '>')
      throw new Error(`stray '${m[0]}' at ${m.index}: ${xml.slice(m.index - 40, m.index + 40)}`);
    const [, close, name, attrs, selfClose] = m;
    for (const ent of (attrs ?? '').match(/&[^;\s"]*;?/g) ?? []) expect(ent).toMatch(/^&(amp|lt|gt|quot|apos);$/);
    if (close) {
      expect(stack.pop()).toBe(name);
    } else if (!selfClose) {
      if (stack.length === 0) roots += 1;
      stack.push(name as string);
    } else if (stack.length === 0) roots += 1;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // Characters XML 1.0 cannot carry at all.
  expect(Array.from(xml).filter((ch) => isNotXmlChar(ch.codePointAt(0) ?? 0))).toEqual([]);
}

describe('timeline SVG', () => {
  const hostile = `<script>alert("x")</script> & 'quoted' ]]> \u0000\u0007 \ud800 end`;
  const tasks = [
    ran('start', [], 5, 10, { type: 'noop' }),
    ran('slow', ['start'], 20, 330),
    ran('fast', ['start'], 21, 45, { status: 'failed', error: { code: 'HTTP<500>', message: hostile } }),
    notRun('skipped_one', ['fast'], 'skipped', 46),
    ran('join', ['slow', 'fast'], 340, 345, { attempts: 3 }),
    notRun('later', ['join'], 'pending', null),
  ];
  const tl = buildTimeline(
    run('failed', 350, { playbook_name: 'pb<&>', error: { code: 'TASK_FAILED', message: hostile } }),
    tasks,
    T0 + 400,
  );
  const svg = renderTimelineSvg(tl);

  it('is well-formed', () => {
    assertWellFormed(svg);
  });

  it('escapes every piece of text', () => {
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('\u0000');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;quoted&apos; ]]&gt;');
    expect(svg).toContain('HTTP&lt;500&gt;');
    expect(svg).toContain('pb&lt;&amp;&gt;');
  });

  it('shows every task, the critical path and the header figures', () => {
    for (const t of tasks) expect(svg).toContain(`data-task-id="${t.task_id}"`);
    expect(tl.critical_path).toEqual(['start', 'slow', 'join']);
    expect(svg).toContain('start → slow → join');
    expect(svg).toContain(`run time: ${formatMs(350)}`);
    expect(svg).toContain(`critical-path task time: ${formatMs(tl.critical_path_task_ms)}`);
    expect(svg).toContain(`engine overhead: ${formatMs(tl.engine_overhead_ms)}`);
    // Two critical edges (start->slow, slow->join), arrows of their own colour.
    expect(svg.match(/marker-end="url\(#arrow-critical\)"/g)).toHaveLength(2);
    expect(svg).toContain('×3');
  });

  it('renders a run with no tasks and one still running', () => {
    assertWellFormed(renderTimelineSvg(buildTimeline(run('running', null), [], T0 + 5)));
    const running = buildTimeline(
      run('running', null),
      [ran('a', [], 10, 0, { status: 'running', finished_at: null, duration_ms: null })],
      T0 + 100,
    );
    const out = renderTimelineSvg(running);
    assertWellFormed(out);
    expect(out).toContain('(so far)');
  });

  it('escapes the five XML specials and replaces what XML cannot carry', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('a\u0001b\ud83d\ude00c\udc00')).toBe('a\ufffdb\ud83d\ude00c\ufffd');
  });

  it('formats durations for people', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(245_000)).toBe('4 min 05 s');
    expect(formatMs(-20)).toBe('-20 ms');
    expect(formatMs(3 * 3_600_000 + 7 * 60_000 + 59_000)).toBe('3 h 07 min');
    expect(formatMs(2 * 86_400_000 + 4 * 3_600_000)).toBe('2 d 04 h');
  });
});

describe('durable waits on the timeline', () => {
  const H = 3_600_000;
  /** An approval asked at +20 (claimed at +10), answered at +2 h; its applying attempt ran +2 h + 30..+2 h + 40. */
  const answered = () =>
    ran('approve', ['score'], 2 * H + 30, 2 * H + 40, {
      type: 'approval',
      attempts: 2,
      wait: { kind: 'approval', since: T0 + 20, until: T0 + 24 * H, ended_at: T0 + 2 * H },
    });

  it('counts the wait on the critical path as waiting, not as engine overhead', () => {
    const tasks = [ran('score', [], 2, 12), answered(), ran('block', ['approve'], 2 * H + 50, 2 * H + 80)];
    const tl = buildTimeline(run('completed', 2 * H + 90), tasks, T0 + 3 * H);
    expect(tl.critical_path).toEqual(['score', 'approve', 'block']);
    expect(tl.tasks.find((t) => t.task_id === 'approve')?.wait).toEqual({
      kind: 'approval',
      since: T0 + 20,
      until: T0 + 24 * H,
      ended_at: T0 + 2 * H,
      ms: 2 * H - 20,
    });
    expect(tl.critical_path_wait_ms).toBe(2 * H - 20);
    expect(tl.critical_path_task_ms).toBe(8 + 8 + 28);
    // What is left is the engine's: queueing, claims and writes between the tasks, and after the answer.
    expect(tl.engine_overhead_ms).toBe(2 * H + 90 - (2 * H - 20) - 44);
    expect(tl.engine_overhead_ms).toBeLessThan(200);
  });

  it('counts a wait in progress up to now, and a wait cancelled up to its cancellation', () => {
    const waiting = {
      ...answered(),
      status: 'waiting',
      attempts: 1,
      started_at: T0 + 10,
      finished_at: null,
      duration_ms: null,
      wait: { kind: 'approval', since: T0 + 20, until: T0 + 24 * H },
    };
    const now = T0 + 5 * H;
    const live = buildTimeline(run('running', null), [ran('score', [], 2, 12), waiting], now);
    expect(live.critical_path).toEqual(['score', 'approve']);
    const approve = (tl: ReturnType<typeof buildTimeline>) => tl.tasks.find((t) => t.task_id === 'approve');
    expect(approve(live)?.wait).toMatchObject({ ended_at: null, ms: 5 * H - 20 });
    expect(live.engine_overhead_ms).toBe(5 * H - 8 - (5 * H - 20));
    const cancelled = { ...waiting, status: 'cancelled', finished_at: T0 + H };
    const ended = buildTimeline(run('cancelled', H), [ran('score', [], 2, 12), cancelled], now);
    expect(approve(ended)?.wait).toMatchObject({ ended_at: null, ms: H - 20 });
    expect(ended.critical_path_wait_ms).toBe(H - 20);
  });

  it('draws the wait as a dashed bar of its own, in the legend and the header', () => {
    const waiting = {
      ...answered(),
      status: 'waiting',
      attempts: 1,
      started_at: T0 + 10,
      finished_at: null,
      duration_ms: null,
      wait: { kind: 'approval', since: T0 + 20, until: T0 + 24 * H },
    };
    const svg = renderTimelineSvg(
      buildTimeline(run('running', null), [ran('score', [], 2, 12), waiting], T0 + 20 + 26 * 60_000),
    );
    assertWellFormed(svg);
    const bar = /<g class="task" data-task-id="approve" data-status="waiting">([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? '';
    // Only the wait is drawn for a task still waiting: no bar of task time.
    expect(bar.match(/<rect /g)).toHaveLength(1);
    expect(bar).toContain('class="wait"');
    expect(bar).toContain('stroke-dasharray="4,2"');
    expect(bar).toContain('waited 26 min 00 s (approval, still waiting; until +1 d 00 h)');
    expect(svg).toContain('waiting (answers, timers): 26 min 00 s');
    expect(svg).toContain('waiting for an answer or a timer');
    // An answered approval: its wait, and the attempt that applied the answer.
    const done = renderTimelineSvg(
      buildTimeline(run('completed', 2 * H + 90), [ran('score', [], 2, 12), answered()], T0 + 3 * H),
    );
    const doneBar = /data-task-id="approve" data-status="succeeded">([\s\S]*?)<\/g>/.exec(done)?.[1] ?? '';
    expect(doneBar.match(/<rect /g)?.length).toBeGreaterThanOrEqual(2);
    expect(doneBar).toContain('class="wait"');
  });
});

describe('timeline query and negotiation', () => {
  it('accepts only format json|svg', () => {
    expect(timelineQuery.safeParse({}).success).toBe(true);
    expect(timelineQuery.safeParse({ format: 'svg' }).success).toBe(true);
    expect(timelineQuery.safeParse({ format: 'png' }).success).toBe(false);
    expect(timelineQuery.safeParse({ fromat: 'svg' }).success).toBe(false);
  });

  it('prefers the query, then an Accept header that prefers SVG, else JSON', () => {
    expect(timelineFormat(undefined, undefined)).toBe('json');
    expect(timelineFormat('json', 'image/svg+xml')).toBe('json');
    expect(timelineFormat('svg', 'application/json')).toBe('svg');
    expect(timelineFormat(undefined, 'image/svg+xml')).toBe('svg');
    expect(timelineFormat(undefined, 'image/avif,image/webp,image/svg+xml,image/*,*/*;q=0.8')).toBe('svg');
    expect(timelineFormat(undefined, 'application/json, image/svg+xml;q=0.5')).toBe('json');
    expect(timelineFormat(undefined, 'application/json;q=0.2, image/svg+xml')).toBe('svg');
    expect(timelineFormat(undefined, 'image/svg+xml;q=0')).toBe('json');
    expect(timelineFormat(undefined, '*/*')).toBe('json');
  });
});
