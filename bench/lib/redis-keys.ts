/** Removing the bench's own Redis keys from the shared Redis. */
import type { Redis } from 'ioredis';

/** Deletes every key matching `pattern` (SCAN, never KEYS: other processes use this Redis). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (found.length > 0) deleted += await redis.del(...found);
  } while (cursor !== '0');
  return deleted;
}
