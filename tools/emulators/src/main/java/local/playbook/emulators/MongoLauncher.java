package local.playbook.emulators;

import java.util.List;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;

/**
 * Starts mongo-java-server (in-memory backend) for local development and tests.
 *
 * <p>mongo-java-server 1.47.0 announces maxWireVersion 8 (its ServerVersion.MONGO_5_0 enum),
 * but the mongodb Node.js driver 7.x refuses servers below wire version 9 (MongoDB 4.4).
 * MongoVersion is a plain interface, so this launcher hands the backend its own version:
 * "5.0.0" with wire version 13, which is what a real MongoDB 5.0 reports. The version only
 * changes the hello/ismaster, buildInfo and serverStatus answers; the emulated behaviour is
 * the same as the library default.
 *
 * <p>The backend is {@link IdIndexMemoryBackend}: the library's in-memory backend, except that
 * queries with a top-level {@code _id} equality or {@code $in} plus other conditions are served
 * from the {@code _id} index (as MongoDB does) instead of scanning the collection, and queries
 * with a top-level {@code peid} equality visit only that run's documents (as MongoDB's
 * {@code peid_*} indexes do).
 *
 * <p>Usage: {@code java -cp 'jars/*:classes' local.playbook.emulators.MongoLauncher [host] [port] [wireVersion]}
 * (defaults 127.0.0.1, 27117, 13).
 */
public final class MongoLauncher {

    private MongoLauncher() {
    }

    static final class ReportedVersion implements MongoVersion {
        private final List<Integer> versionArray;
        private final int wireVersion;

        ReportedVersion(List<Integer> versionArray, int wireVersion) {
            this.versionArray = List.copyOf(versionArray);
            this.wireVersion = wireVersion;
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    public static void main(String[] args) {
        String host = args.length > 0 ? args[0] : "127.0.0.1";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 27117;
        int wireVersion = args.length > 2 ? Integer.parseInt(args[2]) : 13;

        IdIndexMemoryBackend backend = new IdIndexMemoryBackend();
        backend.version(new ReportedVersion(List.of(5, 0, 0), wireVersion));
        MongoServer server = new MongoServer(backend);
        server.bind(host, port);

        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
        // Readiness marker, also parsed by nobody: the stack script health-checks the port itself.
        System.out.println("MongoLauncher: mongo-java-server listening on " + host + ":" + port
                + " (reported version 5.0.0, maxWireVersion " + wireVersion + ", _id index for _id+filter queries, equality lookup on peid)");
        System.out.flush();
    }
}
