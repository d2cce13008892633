package local.playbook.emulators;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
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
 * <p>Also: an equality lookup on each field named in {@code EQUALITY_FIELDS} ({@code peid}), standing
 * in for the MongoDB indexes that start with it ({@code peid_seq}, {@code peid_item_seq}). The library
 * has no non-unique indexes (each is an {@code EmptyIndex} whose {@code canHandle} is always false,
 * see {@code AbstractMongoDatabase.openOrCreateSecondaryIndex}), so {@code {peid, tenant_code}}
 * queries scanned every task of every run: a run load cost in proportion to all the runs stored,
 * which MongoDB never does. The collection keeps, per field, the positions of the documents whose
 * value is a string, by value, plus the positions whose value is anything else but missing (an
 * array may contain the string: those are always candidates). It is maintained where the library
 * adds, removes and updates documents ({@code addDocumentInternal}, {@code removeDocument},
 * {@code handleUpdate}, all under the collection's lock). A query whose top-level condition on the
 * field is a string or {@code {$in: [strings]}}, or whose top-level {@code $or} has such a
 * condition in every branch, visits only those candidates, through the same full matcher; any
 * other query keeps the library's behaviour. Only the documents visited change, not the results.
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

    /** Top-level fields with an equality lookup (the leading field of the project's non-unique indexes). */
    static final List<String> EQUALITY_FIELDS = List.of("peid");

    static class IdIndexMemoryCollection extends MemoryCollection {

        /** Per field: string value -> positions of the documents holding it. */
        private final Map<String, Map<String, Set<Integer>>> byValue = new HashMap<>();
        /** Per field: positions whose value is present but not a string (always candidates). */
        private final Map<String, Set<Integer>> irregular = new HashMap<>();

        IdIndexMemoryCollection(MemoryDatabase database, String collectionName, CollectionOptions options,
                                CursorRegistry cursorRegistry) {
            super(database, collectionName, options, cursorRegistry);
            for (String field : EQUALITY_FIELDS) {
                byValue.put(field, new HashMap<>());
                irregular.put(field, new HashSet<>());
            }
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            Iterable<Integer> positions = idIndexPositions(query, orderBy);
            if (positions == null) {
                positions = equalityPositions(query, orderBy);
            }
            if (positions == null) {
                return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
            }
            // Same call the library makes for an index hit: full matcher on these documents only.
            return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }

        @Override
        protected Integer addDocumentInternal(Document document) {
            Integer position = super.addDocumentInternal(document);
            synchronized (this) {
                track(position, document);
            }
            return position;
        }

        @Override
        protected void removeDocument(Integer position) {
            Document document = getDocument(position);
            super.removeDocument(position);
            synchronized (this) {
                untrack(position, document);
            }
        }

        @Override
        protected void handleUpdate(Integer position, Document oldDocument, Document newDocument) {
            super.handleUpdate(position, oldDocument, newDocument);
            synchronized (this) {
                untrack(position, oldDocument);
                track(position, newDocument);
            }
        }

        private void track(Integer position, Document document) {
            reindex(position, document, true);
        }

        private void untrack(Integer position, Document document) {
            reindex(position, document, false);
        }

        /** Adds `position` under the document's values of the lookup fields, or removes it. */
        private void reindex(Integer position, Document document, boolean add) {
            if (position == null || document == null) {
                return;
            }
            for (String field : EQUALITY_FIELDS) {
                if (!document.containsKey(field)) {
                    continue;
                }
                Object value = document.get(field);
                if (!(value instanceof String)) {
                    Set<Integer> others = irregular.get(field);
                    if (add) {
                        others.add(position);
                    } else {
                        others.remove(position);
                    }
                    continue;
                }
                Map<String, Set<Integer>> values = byValue.get(field);
                if (add) {
                    values.computeIfAbsent((String) value, k -> new HashSet<>()).add(position);
                } else {
                    Set<Integer> set = values.get(value);
                    if (set != null && set.remove(position) && set.isEmpty()) {
                        values.remove(value);
                    }
                }
            }
        }

        /** Candidate positions from an equality lookup, in natural order; null when no lookup applies. */
        private Iterable<Integer> equalityPositions(Document query, Document orderBy) {
            if (query == null || query.isEmpty()) {
                return null;
            }
            for (Index<Integer> index : getIndexes()) {
                if (index.canHandle(query)) {
                    return null; // the library uses that index itself
                }
            }
            synchronized (this) {
                for (String field : EQUALITY_FIELDS) {
                    NavigableSet<Integer> sorted = candidates(query, field);
                    if (sorted != null) {
                        return isNaturalDescending(orderBy) ? sorted.descendingSet() : sorted;
                    }
                }
            }
            return null;
        }

        /** The query's candidates on `field`: from its own condition, or from every branch of its $or. */
        private NavigableSet<Integer> candidates(Document query, String field) {
            if (query.containsKey(field)) {
                return candidatesFor(query.get(field), field);
            }
            Object or = query.get("$or");
            if (!(or instanceof List) || ((List<?>) or).isEmpty()) {
                return null;
            }
            NavigableSet<Integer> union = new TreeSet<>();
            for (Object branch : (List<?>) or) {
                if (!(branch instanceof Document) || !((Document) branch).containsKey(field)) {
                    return null;
                }
                NavigableSet<Integer> part = candidatesFor(((Document) branch).get(field), field);
                if (part == null) {
                    return null;
                }
                union.addAll(part);
            }
            return union;
        }

        /** A string or {$in: [strings]}: the documents holding one of them, plus the irregular ones. */
        private NavigableSet<Integer> candidatesFor(Object condition, String field) {
            Collection<?> values;
            if (condition instanceof String) {
                values = List.of(condition);
            } else if (condition instanceof Document && ((Document) condition).size() == 1
                && ((Document) condition).get("$in") instanceof Collection
                && ((Collection<?>) ((Document) condition).get("$in")).stream().allMatch(v -> v instanceof String)) {
                values = (Collection<?>) ((Document) condition).get("$in");
            } else {
                return null;
            }
            NavigableSet<Integer> sorted = new TreeSet<>(irregular.get(field));
            Map<String, Set<Integer>> index = byValue.get(field);
            for (Object value : values) {
                Set<Integer> positions = index.get(value);
                if (positions != null) {
                    sorted.addAll(positions);
                }
            }
            return sorted;
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
