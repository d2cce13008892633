/**
 * Durable timers in `timers` (docs/durable-waits.md). The sweep reads the timers it must act on
 * by the `timer_sweep` index (done timers have no sweep_at, so the range holds only open ones);
 * every change is conditional on the state (and send count) it was read in, so overlapping
 * sweeps, a consumer completing a timer and a run's cancellation never send a timer twice for
 * one reading.
 */
import { type AnyBulkWriteOperation, type Db, type Filter, MongoServerError } from 'mongodb';
import { RUN_TIMER_KINDS } from '../../domain/timers.js';
import type { TimerCursor, TimerRecord, TimerStore } from '../../engine/ports/timers.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type TimerDoc = Omit<TimerRecord, 'id'> & { _id: string; claim_token?: string; done_date?: Date };

const C = COLLECTIONS.timers;

export const TIMER_QUERIES = defineQueries('timers', {
  byId: { collection: C, index: ID_INDEX, prefix: ['_id'] },
  // Arming and claims: only a timer still in the state (and send count) read.
  asSeen: { collection: C, index: ID_INDEX, prefix: ['_id'], residual: ['state', 'sends', 'claim_token'] },
  // Pending and armed timers whose time has come (all tenants); the cursor continues a page.
  due: {
    collection: C,
    index: 'timer_sweep',
    prefix: ['sweep_at', '_id'],
    residual: ['state'],
    sort: { key: { sweep_at: 1, _id: 1 }, by: 'index' },
  },
  ofRun: { collection: C, index: 'timer_run', prefix: ['tenant_code', 'peid'], residual: ['state', 'kind'] },
});

const OPEN = ['pending', 'armed'] as const;
const DONE = ['fired', 'cancelled', 'abandoned'] as const;

function fromDoc({ _id, claim_token: _t, done_date: _d, ...rest }: TimerDoc): TimerRecord {
  return { id: _id, ...rest };
}

function done(state: 'fired' | 'cancelled' | 'abandoned', now: number) {
  return { $set: { state, sweep_at: null, done_date: new Date(now) } };
}

/** The filter of a page of the sweep (exported for the index-coverage test). */
export function dueFilter(now: number, after?: TimerCursor): Filter<TimerDoc> {
  if (after === undefined) return { sweep_at: { $lte: now }, state: { $in: [...OPEN] } };
  return {
    state: { $in: [...OPEN] },
    $or: [{ sweep_at: { $gt: after.sweep_at, $lte: now } }, { sweep_at: after.sweep_at, _id: { $gt: after.id } }],
  };
}

/** A TimerStore over the given database. */
export function createTimerStore(db: Db): TimerStore {
  const col = db.collection<TimerDoc>(C);

  return {
    async put(t, now) {
      try {
        // index: _id. An upsert: a pending timer takes the new due time; a done one (its task waits
        // again at the same attempt after a redrive) starts over; an armed one exists with this _id,
        // so the insert fails and it is kept as it is.
        await timedDbCall(() =>
          col.updateOne(
            indexed(TIMER_QUERIES.asSeen, { _id: t.id, state: { $in: ['pending', ...DONE] } }),
            {
              $set: {
                state: 'pending',
                due_at: t.due_at,
                sweep_at: t.sweep_at,
                message: t.message,
                kind: t.kind,
                sends: 0,
                armed_at: null,
              },
              $unset: { done_date: '' },
              $setOnInsert: { tenant_code: t.tenant_code, peid: t.peid, created_at: now },
            },
            { upsert: true },
          ),
        );
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      }
    },

    async get(id) {
      // index: _id
      const doc = await timedDbCall(() => col.findOne(indexed(TIMER_QUERIES.byId, { _id: id })));
      return doc ? fromDoc(doc) : null;
    },

    async due(now, limit, after) {
      // index: timer_sweep (filter and order; done timers have sweep_at null, outside the range)
      const docs = await timedDbCall(() =>
        col
          .find(indexed(TIMER_QUERIES.due, dueFilter(now, after)))
          .sort(sortOf(TIMER_QUERIES.due))
          .limit(limit)
          .toArray(),
      );
      return docs.map(fromDoc);
    },

    async claim(claims, token, now) {
      const won = new Set<string>();
      if (claims.length === 0) return won;
      const ops: AnyBulkWriteOperation<TimerDoc>[] = claims.map((c) => ({
        updateOne: {
          // index: _id; one sweep wins a timer as it was read
          filter: indexed(TIMER_QUERIES.asSeen, { _id: c.id, state: c.seen.state, sends: c.seen.sends }),
          update: {
            $set: { state: 'armed', armed_at: now, sweep_at: c.next_sweep_at, claim_token: token },
            $inc: { sends: 1 },
          },
        },
      }));
      const res = await timedDbCall(() => col.bulkWrite(ops, { ordered: false }));
      if (res.matchedCount === claims.length) {
        for (const c of claims) won.add(c.id);
        return won;
      }
      if (res.matchedCount === 0) return won;
      // index: _id (the token is this call's own value)
      const mine = await timedDbCall(() =>
        col
          .find(indexed(TIMER_QUERIES.asSeen, { _id: { $in: claims.map((c) => c.id) }, claim_token: token }), {
            projection: { _id: 1 },
          })
          .toArray(),
      );
      for (const d of mine) won.add(d._id);
      return won;
    },

    async release(claims, token) {
      if (claims.length === 0) return;
      await timedDbCall(() =>
        col.bulkWrite(
          claims.map((c) => ({
            updateOne: {
              // index: _id; only what this call armed, and has not been completed since
              filter: indexed(TIMER_QUERIES.asSeen, {
                _id: c.id,
                claim_token: token,
                state: 'armed',
                sends: c.seen.sends + 1,
              }),
              update: { $set: { state: c.seen.state, sweep_at: c.seen.sweep_at }, $inc: { sends: -1 } },
            },
          })),
          { ordered: false },
        ),
      );
    },

    async complete(id, now) {
      // index: _id
      const res = await timedDbCall(() =>
        col.updateOne(indexed(TIMER_QUERIES.asSeen, { _id: id, state: { $in: [...OPEN] } }), done('fired', now)),
      );
      return res.matchedCount === 1;
    },

    async abandon(claims, now) {
      if (claims.length === 0) return;
      await timedDbCall(() =>
        col.bulkWrite(
          claims.map((c) => ({
            updateOne: {
              // index: _id
              filter: indexed(TIMER_QUERIES.asSeen, { _id: c.id, state: c.seen.state, sends: c.seen.sends }),
              update: done('abandoned', now),
            },
          })),
          { ordered: false },
        ),
      );
    },

    async cancelRun(ref, now) {
      // index: timer_run (one update for the whole run)
      const res = await timedDbCall(() =>
        col.updateMany(
          indexed(TIMER_QUERIES.ofRun, {
            tenant_code: ref.tenant_code,
            peid: ref.peid,
            state: { $in: [...OPEN] },
            // A containment's undo (and a rollback's start) outlives the run.
            kind: { $in: [...RUN_TIMER_KINDS] },
          }),
          done('cancelled', now),
        ),
      );
      return res.modifiedCount;
    },
  };
}
