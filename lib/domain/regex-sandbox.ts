/**
 * Regular expressions of playbook expressions run in a worker thread that is terminated at the
 * evaluation's deadline. A backtracking match is one native call: no evaluation hook, timer or
 * event can interrupt it on the thread that runs it, and a pattern such as `/^(a+)+$|\1/` on a
 * few dozen characters backtracks longer than a Lambda function runs. Terminating the thread
 * that runs it is the only bound that holds whatever the pattern.
 *
 * Why not refuse, at save time, what V8's linear-time engine cannot run, and rely on V8's
 * fallback to it? On the Node versions this service runs that engine refuses case-insensitive
 * patterns and counts above 16 (`/evil/i` and `/[a-f0-9]{64}/` are everyday playbook patterns),
 * its fallback is itself slow and memory-hungry on large subjects, and JSONata's own `$toMillis`
 * picture parsing builds polynomial case-insensitive patterns no save-time check sees. The
 * measurements are in docs/reliability.md ("Regular expressions").
 *
 * Cost: nothing for expressions without a regular expression (the common case). The worker is
 * started on first use in a container (not charged to an evaluation's budget); each call is a
 * synchronous round trip (Atomics.wait on a shared flag, the answer read with
 * receiveMessageOnPort); the subject string is sent once per distinct string, and global
 * matches are fetched in growing batches (sandboxed-regex.ts). After a timeout the worker is
 * terminated and the next use starts a new one.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { ExpressionError } from './expression-error.js';

/** One match as the worker reports it: index, lastIndex after it, and the groups (0 = whole match). */
export interface SandboxMatch {
  i: number;
  e: number;
  g: (string | undefined)[];
}

export interface SandboxRequest {
  source: string;
  flags: string;
  text: string;
  /** lastIndex to start from (global and sticky patterns); 0 otherwise. */
  from: number;
  /** Matches wanted at most (consecutive, global patterns only); a null ends the list. */
  count: number;
}

/** How long starting a worker may take; not charged to any evaluation's budget. */
const BOOT_TIMEOUT_MS = 10_000;

// CommonJS, run with `eval: true`: self-contained, so it works the same from the Lambda bundle
// and from the sources. It answers on the port, then raises the flag the caller waits on.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
let text = '';
const compiled = new Map();
function answer(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
port.on('message', (req) => {
  try {
    if (typeof req.text === 'string') text = req.text;
    const key = req.flags + '/' + req.source;
    let re = compiled.get(key);
    if (re === undefined) {
      if (compiled.size >= 256) compiled.clear();
      re = new RegExp(req.source, req.flags);
      compiled.set(key, re);
    }
    const repeat = re.global || re.sticky;
    const matches = [];
    let from = repeat ? req.from : 0;
    for (let n = 0; n < req.count; n += 1) {
      re.lastIndex = from;
      const m = re.exec(text);
      if (m === null) {
        matches.push(null);
        break;
      }
      matches.push({ i: m.index, e: re.lastIndex, g: Array.from(m) });
      if (!repeat || m[0].length === 0) break;
      from = re.lastIndex;
    }
    answer({ ok: true, matches });
  } catch (err) {
    answer({ ok: false, message: String((err && err.message) || err) });
  }
});
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
`;

interface Sandbox {
  worker: Worker;
  flag: Int32Array;
  port: MessagePort;
  ready: boolean;
  /** The subject string the worker holds. */
  text: string | undefined;
}

let current: Sandbox | undefined;
let started = 0;

function spawn(): Sandbox {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { flag: flag.buffer, port: port2 },
    transferList: [port2],
    env: {},
    // Big enough for the subject strings expressions can build, small enough to leave the
    // function's memory to the function.
    resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
  });
  const box: Sandbox = { worker, flag, port: port1, ready: false, text: undefined };
  // A worker that dies (out of memory, terminated) is replaced on next use; never an unhandled error.
  const forget = () => {
    if (current === box) current = undefined;
  };
  worker.on('error', forget);
  worker.on('exit', forget);
  worker.unref();
  port1.unref();
  started += 1;
  return box;
}

function kill(box: Sandbox): void {
  if (current === box) current = undefined;
  box.port.close();
  box.worker.terminate().catch(() => undefined);
}

function ready(): Sandbox {
  current ??= spawn();
  const box = current;
  if (!box.ready) {
    if (Atomics.wait(box.flag, 0, 0, BOOT_TIMEOUT_MS) === 'timed-out') {
      kill(box);
      throw new ExpressionError('EXPRESSION_FAILED', 'the regular expression engine did not start');
    }
    box.ready = true;
  }
  return box;
}

function timeout(budgetMs: number): ExpressionError {
  return new ExpressionError(
    'EXPRESSION_TIMEOUT',
    `regular expression did not finish within the expression's ${Math.max(0, Math.round(budgetMs))} ms budget`,
  );
}

/**
 * Runs `req` in the worker, waiting at most until `deadline` (Date.now() time); returns up to
 * `count` consecutive matches (a null entry: no further match). Throws ExpressionError
 * EXPRESSION_TIMEOUT (the worker is terminated) when the deadline passes first.
 */
export function execInSandbox(req: SandboxRequest, deadline: number, budgetMs: number): (SandboxMatch | null)[] {
  const box = ready();
  const waitMs = deadline - Date.now();
  if (waitMs <= 0) throw timeout(budgetMs);
  Atomics.store(box.flag, 0, 0);
  const message: Partial<SandboxRequest> = { source: req.source, flags: req.flags, from: req.from, count: req.count };
  if (box.text !== req.text) message.text = req.text;
  box.port.postMessage(message);
  box.text = req.text;
  if (Atomics.wait(box.flag, 0, 0, waitMs) === 'timed-out') {
    kill(box);
    throw timeout(budgetMs);
  }
  const reply = receiveMessageOnPort(box.port)?.message as
    | { ok: true; matches: (SandboxMatch | null)[] }
    | { ok: false; message: string }
    | undefined;
  if (reply === undefined) {
    kill(box);
    throw new ExpressionError('EXPRESSION_FAILED', 'the regular expression engine stopped');
  }
  if (!reply.ok) throw new ExpressionError('EXPRESSION_FAILED', `regular expression failed: ${reply.message}`);
  return reply.matches;
}

/** How many workers this process has started (the first, plus one after each timeout); for tests. */
export function sandboxStarts(): number {
  return started;
}
