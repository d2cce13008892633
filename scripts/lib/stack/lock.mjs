// The stack's lock file: stackUp/stackDown may be called by several processes at once.

import fs from 'node:fs';
import { LOCK_FILE, STACK_DIR, StackError } from './config.mjs';
import { isAlive, mkdirp, sleep, startTime } from './proc.mjs';

/** @template T @param {() => Promise<T>} fn @returns {Promise<T>} */
export async function withLock(fn) {
  mkdirp(STACK_DIR);
  const deadline = Date.now() + 10 * 60_000; // covers a first-time Maven download by another process
  for (;;) {
    try {
      const fd = fs.openSync(LOCK_FILE, 'wx');
      fs.writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ''}\n`);
      fs.closeSync(fd);
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      let stale = false;
      try {
        const [pidStr, st] = fs.readFileSync(LOCK_FILE, 'utf8').trim().split(' ');
        const pid = Number(pidStr);
        stale = !isAlive(pid) || (st !== undefined && st !== '' && startTime(pid) !== st);
      } catch {
        // lock vanished or half-written: retry
      }
      if (stale) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`timed out waiting for the stack lock ${LOCK_FILE}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}
