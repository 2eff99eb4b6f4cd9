import Crypto
import Dualhook
import Foundation
import HTTPServer
import JobQueue
import Logging

extension Commands {
    static func serve(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: ["threads", "listen", "idle-timeout"], flags: [])
        try parsed.expectPositionals(0, "")
        try environment.requireProductionSettings()
        // Handlers run on `threads` threads of their own, in the order requests arrived; each
        // may hold a database connection and blocks on it, mostly waiting for a commit (its
        // own, or a shared one, which gathers more the more threads wait). Eight per core, at
        // most 64 (the pool opens up to one connection per thread). Measured on 2 cores with
        // handlers on threads of their own, ops/bench/api 8 32 THREADS: 1,307 and 1,550 req/s
        // (p99 49 and 32 ms) with 8, 1,528–2,083 (p99 31–48 ms) with 16, 1,619 and 1,879 (p99 63
        // and 69 ms) with 32. (When handlers still ran on libmicrohttpd's threads, ops/bench/ingest
        // gave 4,030 changes/s with 16 against 2,197 with 4.)
        // libmicrohttpd's epoll threads, one per core, only read requests and send answers.
        let threads = try parsed.int("threads", default: min(64, max(2, 8 * ProcessInfo.processInfo.activeProcessorCount)), range: 1...256)
        let listen = parsed.options["listen"] ?? environment.listen
        guard var server = HTTPServer.Configuration(listen: listen) else {
            throw UsageError("listen address must be host:port, got \(listen)")
        }
        server.threads = threads
        server.ioThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        // "Process up" (API.md): answered even while every handler thread waits.
        server.immediatePaths = ["/healthz"]
        server.connectionTimeout = try parsed.int("idle-timeout", default: 30, range: 1...3600)
        let vault = try environment.vault()
        var configuration = AppConfiguration(databaseURL: environment.databaseURL, publicURL: environment.publicURL,
                                             allowPrivateTargets: environment.allowPrivateTargets, vault: vault)
        func setting(_ name: String) -> String? { environment.values[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let value = setting("META_APP_ID") { configuration.meta.appID = value }
        if let value = setting("META_CONFIG_ID") { configuration.meta.configID = value }
        if let value = setting("META_GRAPH_VERSION") { configuration.meta.graphVersion = value }
        if let value = setting("META_SDK_URL") { configuration.meta.sdkURL = value }
        if let value = setting("META_APP_SECRET") { configuration.meta.appSecret = value }
        if let value = setting("META_WEBHOOK_VERIFY_TOKEN") { configuration.meta.webhookVerifyToken = value }
        configuration.metricsToken = setting("DUALHOOK_METRICS_TOKEN")
        configuration.sweeps = try Catalog.sweeps(environment)
        let metrics = HTTPMetrics()
        let app = App(configuration: configuration, poolSize: threads, metrics: metrics)
        WakeUps.shared.start(databaseURL: environment.databaseURL)
        Counters.shared.start(databaseURL: environment.databaseURL)
        let http = HTTPServer(configuration: server, metrics: metrics, tooLarge: app.tooLarge, handler: app.handle)
        try http.start()
        let logger = Logger(label: "serve")
        environment.logStartup(logger, command: "serve")
        logger.info("listening", ["address": listen, "threads": threads, "public_url": configuration.publicURL])
        let stopped = DispatchSemaphore(value: 0)
        Signals.onTermination { _ in stopped.signal() }
        stopped.wait()
        logger.info("stopping")
        http.stop()
        app.pool.shutdown()
        Counters.shared.finish(databaseURL: environment.databaseURL)
        return 0
    }
}
