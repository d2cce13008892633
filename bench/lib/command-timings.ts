/**
 * MongoDB command durations grouped by shape (command, collection and the filter's
 * top-level fields), from the driver's command monitoring on the product's client
 * (countRoundTrips turns it on). Tells which query or write grows when a cost does.
 */
import { BSON, type CommandStartedEvent, type CommandSucceededEvent, type Document, type MongoClient } from 'mongodb';

export interface ShapeTiming {
  count: number;
  ms: number;
  /** Reply bytes (BSON), when asked for: sizing costs CPU, so not in timed runs. */
  bytes: number;
}

/** The filter of a command, whichever field carries it. */
function filterOf(cmd: Document): Document | undefined {
  if (cmd.filter) return cmd.filter as Document;
  if (cmd.query) return cmd.query as Document;
  const first = (cmd.updates ?? cmd.deletes)?.[0] as Document | undefined;
  return first ? ((first.q as Document | undefined) ?? undefined) : undefined;
}

function shapeOf(e: CommandStartedEvent): string {
  const coll = String(e.command[e.commandName] ?? '').replace(/_collection$/, '');
  const filter = filterOf(e.command);
  const fields = filter ? Object.keys(filter).sort().join(',') : '';
  return `${e.commandName} ${coll}${filter ? ` {${fields}}` : ''}`;
}

/** Records command durations (and reply sizes if `bytes`) by shape until the returned function is called. */
export function timeCommands(client: MongoClient, bytes = false): () => Record<string, ShapeTiming> {
  const pending = new Map<number, string>();
  const out: Record<string, ShapeTiming> = {};
  const started = (e: CommandStartedEvent) => pending.set(e.requestId, shapeOf(e));
  const succeeded = (e: CommandSucceededEvent) => {
    const shape = pending.get(e.requestId);
    if (shape === undefined) return;
    pending.delete(e.requestId);
    const t = out[shape] ?? { count: 0, ms: 0, bytes: 0 };
    t.count += 1;
    t.ms += e.duration;
    if (bytes) t.bytes += BSON.calculateObjectSize(e.reply as Document);
    out[shape] = t;
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', succeeded);
  return () => {
    client.off('commandStarted', started);
    client.off('commandSucceeded', succeeded);
    return out;
  };
}
