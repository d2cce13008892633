/**
 * Playbook schedules in `playbook_schedules` (_id = `tenant_code/playbook_name`: one per
 * playbook). runSchedules reads the due ones of every tenant by the `next_run` index (a system
 * job, like the top-playbooks computation; each run it starts belongs to the schedule's tenant)
 * and moves each off its slot with a conditional update, so a slot is handled once.
 * A set carries its audit entry in the upsert; an audited delete turns the schedule into a
 * tombstone (`deleted_at`, no next slot), which no read returns and the outbox then removes.
 */
import { type Db, MongoServerError } from 'mongodb';
import type { AuditEntry } from '../../domain/audit.js';
import { type ScheduleStore, type StoredSchedule, scheduleKey } from '../../engine/ports/schedules.js';
import { timedDbCall } from '../../observability.js';
import { type PendingDoc, settleDocs } from './audit-outbox.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type ScheduleDoc = StoredSchedule & { _id: string; audit_pending?: AuditEntry[]; deleted_at?: number | null };

export const SCHEDULE_QUERIES = defineQueries('schedules', {
  ofPlaybook: {
    collection: COLLECTIONS.schedules,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'deleted_at'],
  },
  // Disabled schedules and tombstones have next_run_at null: never in the range. The cursor continues a sweep.
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
  return scheduleKey(tenant_code, playbook_name);
}

const withoutId = ({ _id, audit_pending: _a, deleted_at: _d, ...rest }: ScheduleDoc): StoredSchedule => rest;

const DUPLICATE_KEY = 11000;

/** A ScheduleStore over the given database. */
export function createScheduleStore(db: Db): ScheduleStore {
  const col = db.collection<ScheduleDoc>(COLLECTIONS.schedules);

  /** Finishes the deletion of a schedule whose tombstone is left (its writer died before the outbox removed it). */
  async function settleTombstone(_id: string, tenant_code: string): Promise<boolean> {
    // index: _id
    const doc = await timedDbCall(() =>
      col.findOne<PendingDoc>(indexed(SCHEDULE_QUERIES.ofPlaybook, { _id, tenant_code, deleted_at: { $ne: null } }), {
        projection: { _id: 1, tenant_code: 1, audit_pending: 1, deleted_at: 1 },
      }),
    );
    if (!doc) return false;
    await settleDocs(db, 'schedule', [doc]);
    return true;
  }

  return {
    async get(tenant_code, playbook_name) {
      // index: _id
      const doc = await timedDbCall(() =>
        col.findOne(
          indexed(SCHEDULE_QUERIES.ofPlaybook, {
            _id: scheduleId(tenant_code, playbook_name),
            tenant_code,
            deleted_at: null,
          }),
        ),
      );
      return doc ? withoutId(doc) : null;
    },

    async put(s, audit) {
      const { tenant_code, playbook_name } = s;
      const _id = scheduleId(tenant_code, playbook_name);
      const unset: Record<string, ''> = 'cron' in s ? { every_minutes: '' } : { cron: '' };
      for (let attempt = 1; ; attempt += 1) {
        try {
          // index: _id (an upsert: a new schedule gets its creation time, a replaced one keeps it and its last run)
          const doc = await timedDbCall(() =>
            col.findOneAndUpdate(
              indexed(SCHEDULE_QUERIES.ofPlaybook, { _id, tenant_code, deleted_at: null }),
              {
                $set: { ...s },
                $unset: unset,
                $setOnInsert: { created_at: s.updated_at },
                ...(audit ? { $push: { audit_pending: audit } } : {}),
              },
              { upsert: true, returnDocument: 'after' },
            ),
          );
          if (!doc) throw new Error('the schedule upsert returned no document');
          return withoutId(doc);
        } catch (err) {
          // The key may be held by the tombstone of a deletion whose writer died: finish it, once.
          const duplicate = err instanceof MongoServerError && err.code === DUPLICATE_KEY;
          if (!(duplicate && attempt === 1 && (await settleTombstone(_id, tenant_code)))) throw err;
        }
      }
    },

    async remove(tenant_code, playbook_name, audit) {
      const key = { _id: scheduleId(tenant_code, playbook_name), tenant_code, deleted_at: null };
      if (audit) {
        // One write makes the deletion and carries its entry: a tombstone without a next slot, removed by the outbox.
        // index: _id
        const res = await timedDbCall(() =>
          col.updateOne(indexed(SCHEDULE_QUERIES.ofPlaybook, key), {
            $set: { deleted_at: audit.at, next_run_at: null },
            $push: { audit_pending: audit },
          }),
        );
        return res.matchedCount === 1;
      }
      // index: _id
      const res = await timedDbCall(() => col.deleteOne(indexed(SCHEDULE_QUERIES.ofPlaybook, key)));
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
