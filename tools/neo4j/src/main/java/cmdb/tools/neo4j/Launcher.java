package cmdb.tools.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * An embedded Neo4j Community DBMS with its Bolt connector on 127.0.0.1, for the
 * project's tests, demo and benchmarks.
 *
 * <pre>
 * java -Xmx768m [Neo4j's JVM flags] -cp 'target/classes:target/lib/*' cmdb.tools.neo4j.Launcher \
 *     --dir DATA_DIR --port BOLT_PORT [--pagecache-mb 128] [--parent-pid PID] [--tls-dir DIR]
 * </pre>
 *
 * Prints one line, {@code cmdb-neo4j ready bolt://127.0.0.1:PORT}, once Bolt listens.
 * Shuts the DBMS down cleanly (checkpoint, store files closed) when standard input
 * reaches end of file (the parent closed the pipe or died), when the parent process
 * exits, or on SIGTERM/SIGINT. SIGKILL is a crash: the next start recovers from the
 * transaction log.
 */
public final class Launcher {
    private Launcher() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path dir = Path.of(require(options, "dir")).toAbsolutePath();
        int port = Integer.parseInt(require(options, "port"));
        long pageCacheMb = Long.parseLong(options.getOrDefault("pagecache-mb", "128"));
        // Transaction-log files are pre-allocated at their rotation size unless told otherwise;
        // small logs keep a test's data directory small.
        long txLogMb = Long.parseLong(options.getOrDefault("tx-log-mb", "64"));

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(dir);
        String tlsDir = options.get("tls-dir");
        if (tlsDir != null) {
            // Bolt over TLS only: private.key and public.crt (PEM) in that directory; no client certificates.
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            builder.setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, Path.of(tlsDir).toAbsolutePath())
                    .setConfig(bolt.client_auth, ClientAuth.NONE)
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.REQUIRED);
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(txLogMb))
                // Bolt's network threads otherwise wait out a quiet period of several seconds
                // on shutdown, after the databases are already closed.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .build();

        CountDownLatch stop = new CountDownLatch(1);
        Thread shutdown = new Thread(() -> {
            dbms.shutdown();
            stop.countDown();
        }, "cmdb-neo4j-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdown);

        System.out.println("cmdb-neo4j ready bolt://127.0.0.1:" + port);
        System.out.flush();

        String parent = options.get("parent-pid");
        if (parent != null) {
            ProcessHandle.of(Long.parseLong(parent)).ifPresentOrElse(
                    handle -> handle.onExit().thenRun(() -> System.exit(0)),
                    () -> System.exit(0));
        }
        Thread stdinWatch = new Thread(() -> {
            waitForEof(System.in);
            System.exit(0);  // runs the shutdown hook
        }, "cmdb-neo4j-stdin");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        stop.await();
    }

    private static void waitForEof(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // Anything written to stdin is ignored; only its end matters.
            }
        } catch (IOException e) {
            // A broken pipe is the parent going away, too.
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: --dir DIR --port PORT [--pagecache-mb N] "
                        + "[--tx-log-mb N] [--parent-pid PID] [--tls-dir DIR]; got " + args[i]);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        return options;
    }

    private static String require(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return value;
    }
}
