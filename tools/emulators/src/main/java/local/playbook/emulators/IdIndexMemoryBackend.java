package local.playbook.emulators;

import java.util.Collection;
import java.util.NavigableSet;
import java.util.TreeSet;
import java.util.regex.Pattern;

import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;

/**
 * mongo-java-server's in-memory backend, except that a query with a top-level {@code _id} equality
 * is served from the {@code _id} index even when it has other conditions as well.
 *
 * <p>Why: in mongo-java-server 1.47.0, {@code AbstractMongoCollection.queryDocuments} (behind find,
 * count, distinct, update/updateMany, bulkWrite updates, findAndModify and delete) only uses an
 * index whose {@code canHandle(query)} is true, and {@code AbstractUniqueIndex.canHandle} requires
 * the query's top-level keys to be exactly the index's keys. So {@code {_id: x, tenant_code: t}} or
 * {@code {_id: {$in: [...]}, transition_token: k}} scans the whole collection: O(collection size)
 * per operation. Real MongoDB serves every filter with an {@code _id} equality or {@code $in} from
 * the {@code _id} index and applies the other conditions to the few documents it finds; the
 * emulator should not be slower in kind than the real thing, or local benchmarks measure the scan.
 *
 * <p>How: if no index can handle the whole query and its top-level {@code _id} condition is a
 * plain value or {@code {$in: [plain values]}}, the positions come from the {@code _id} index
 * (through the library's own {@code canHandle}/{@code getPositions} for the {@code _id}-only
 * query, so values are normalized exactly as in its single-key lookups) and then go through the
 * library's {@code matchDocuments}, which applies the FULL query matcher, sort, skip, limit and
 * projection. The positions are the slots of the collection's document list, so sorting them
 * gives the natural order a scan would have produced; results, their order and update/delete
 * semantics stay the same, only the documents that cannot match are no longer visited.
 * Everything else (operators on {@code _id} other than {@code $in}, regexes, null, arrays,
 * embedded documents, queries without {@code _id}) keeps the library's behaviour.
 *
 * <p>Not done: non-unique indexes. The library has no implementation of them; every non-unique
 * index is an {@code EmptyIndex} whose {@code canHandle} is always false (see
 * {@code AbstractMongoDatabase.openOrCreateSecondaryIndex}), so e.g. {@code {peid, tenant_code}}
 * queries still scan. Supporting them would mean writing a multikey secondary index, not a switch.
 */
public class IdIndexMemoryBackend extends MemoryBackend {

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new IdIndexMemoryDatabase(databaseName, getCursorRegistry());
    }

    static class IdIndexMemoryDatabase extends MemoryDatabase {

        IdIndexMemoryDatabase(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, cursorRegistry);
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            return new IdIndexMemoryCollection(this, collectionName, options, cursorRegistry);
        }
    }

    static class IdIndexMemoryCollection extends MemoryCollection {

        IdIndexMemoryCollection(MemoryDatabase database, String collectionName, CollectionOptions options,
                                CursorRegistry cursorRegistry) {
            super(database, collectionName, options, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            Iterable<Integer> positions = idIndexPositions(query, orderBy);
            if (positions == null) {
                return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
            }
            // Same call the library makes for an index hit: full matcher on these documents only.
            return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }

        /** Candidate positions from the _id index, in natural order; null to let the library decide. */
        private Iterable<Integer> idIndexPositions(Document query, Document orderBy) {
            String idField = getIdField();
            if (query == null || idField == null || query.size() < 2) {
                return null; // {} or {_id: ...} alone: the library already handles these
            }
            Object condition = query.get(idField);
            if (!isIndexableIdCondition(condition)) {
                return null;
            }
            for (Index<Integer> index : getIndexes()) {
                if (index.canHandle(query)) {
                    return null; // the library uses that index itself
                }
            }
            Document idQuery = new Document(idField, condition);
            for (Index<Integer> index : getIndexes()) {
                if (index.isUnique() && index.canHandle(idQuery)) {
                    NavigableSet<Integer> sorted = new TreeSet<>();
                    index.getPositions(idQuery).forEach(sorted::add);
                    return isNaturalDescending(orderBy) ? sorted.descendingSet() : sorted;
                }
            }
            return null;
        }

        /** A plain value, or {$in: [plain values]}; these select by equality only. */
        private static boolean isIndexableIdCondition(Object condition) {
            if (isPlainValue(condition)) {
                return true;
            }
            if (condition instanceof Document && ((Document) condition).size() == 1
                && ((Document) condition).get("$in") instanceof Collection) {
                Collection<?> values = (Collection<?>) ((Document) condition).get("$in");
                return values.stream().allMatch(IdIndexMemoryCollection::isPlainValue);
            }
            return false;
        }

        private static boolean isPlainValue(Object value) {
            return value != null
                && !(value instanceof Document)
                && !(value instanceof Collection)
                && !(value instanceof BsonRegularExpression)
                && !(value instanceof Pattern)
                && !value.getClass().isArray();
        }
    }
}
