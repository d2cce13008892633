/**
 * Playbook schedules in `playbook_schedules` (_id = `tenant_code/playbook_name`: one per
 * playbook). runSchedules reads the due ones of every tenant by the `next_run` index (a system
 * job, like the top-playbooks computation; each run it starts belongs to the schedule's tenant)
 * and moves each off its slot with a conditional update, so a slot is handled once.
 */
import type { Db } from 'mongodb';
import type { ScheduleStore, StoredSchedule } from '../../engine/ports/schedules.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type ScheduleDoc = StoredSchedule & { _id: string };

export const SCHEDULE_QUERIES = defineQueries('schedules', {
  ofPlaybook: { collection: COLLECTIONS.schedules, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  // Disabled schedules have next_run_at null: never in the range. The cursor continues a sweep.
  due: {
    collection: COLLECTIONS.schedules,
    index: 'next_run',
    prefix: ['next_run_at', '_id'],
    sort: { key: { next_run_at: 1, _id: 1 }, by: 'index' },
  },
  // The claim of a slot: still at the slot this invocation read.
  atSlot: { collection: COLLECTIONS.schedules, index: ID_INDEX, prefix: ['_id'], residual: ['next_run_at'] },
});

export function scheduleId(tenant_code: string, playbook_name: string): string {
  return `${tenant_code}/${playbook_name}`;
}

const withoutId = ({ _id, ...rest }: ScheduleDoc): StoredSchedule => rest;

/** A ScheduleStore over the given database. */
export function createScheduleStore(db: Db): ScheduleStore {
  const col = db.collection<ScheduleDoc>(COLLECTIONS.schedules);
  return {
    async get(tenant_code, playbook_name) {
      // index: _id
      const doc = await timedDbCall(() =>
        col.findOne(indexed(SCHEDULE_QUERIES.ofPlaybook, { _id: scheduleId(tenant_code, playbook_name), tenant_code })),
      );
      return doc ? withoutId(doc) : null;
    },

    async put(s) {
      const { tenant_code, playbook_name } = s;
      const unset: Record<string, ''> = 'cron' in s ? { every_minutes: '' } : { cron: '' };
      // index: _id (an upsert: a new schedule gets its creation time, a replaced one keeps it and its last run)
      const doc = await timedDbCall(() =>
        col.findOneAndUpdate(
          indexed(SCHEDULE_QUERIES.ofPlaybook, { _id: scheduleId(tenant_code, playbook_name), tenant_code }),
          { $set: { ...s }, $unset: unset, $setOnInsert: { created_at: s.updated_at } },
          { upsert: true, returnDocument: 'after' },
        ),
      );
      if (!doc) throw new Error('the schedule upsert returned no document');
      return withoutId(doc);
    },

    async remove(tenant_code, playbook_name) {
      // index: _id
      const res = await timedDbCall(() =>
        col.deleteOne(
          indexed(SCHEDULE_QUERIES.ofPlaybook, { _id: scheduleId(tenant_code, playbook_name), tenant_code }),
        ),
      );
      return res.deletedCount === 1;
    },

    async due(now, limit, after) {
      // index: next_run (filter and sort)
      const docs = await timedDbCall(() =>
        col
          .find(
            indexed(
              SCHEDULE_QUERIES.due,
              after === undefined
                ? { next_run_at: { $lte: now } }
                : {
                    $or: [
                      { next_run_at: { $gt: after.next_run_at, $lte: now } },
                      { next_run_at: after.next_run_at, _id: { $gt: after.id } },
                    ],
                  },
            ),
          )
          .sort(sortOf(SCHEDULE_QUERIES.due))
          .limit(limit)
          .toArray(),
      );
      return docs.map((d) => ({ ...withoutId(d), id: d._id }));
    },

    async advance(id, slot, next, last) {
      // index: _id
      const res = await timedDbCall(() =>
        col.updateOne(indexed(SCHEDULE_QUERIES.atSlot, { _id: id, next_run_at: slot }), {
          $set: { next_run_at: next, last_run: last },
        }),
      );
      return res.matchedCount === 1;
    },
  };
}
