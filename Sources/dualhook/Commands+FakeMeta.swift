import FakeMeta
import Foundation
import HTTPServer
import Logging

extension Commands {
    /// The Graph API simulator for development and tests (see API.md, "The fake Meta").
    static func fakeMeta(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: ["listen", "app-callback"], flags: [])
        try parsed.expectPositionals(0, "")
        let listen = parsed.options["listen"] ?? "127.0.0.1:9090"
        guard var configuration = HTTPServer.Configuration(listen: listen) else {
            throw UsageError("--listen must be host:port, got \(listen)")
        }
        // Handlers that wait (a fault's delay, a call to a URL this process serves) hold a
        // thread each.
        configuration.threads = 8
        // The receiver (a stand-in for the SaaS's and tenant's servers) never waits: answered on
        // libmicrohttpd's threads, without two hand-overs per request. Under `ops/bench/events`,
        // where it shares the machine with the worker and Postgres, that leaves them its CPU.
        configuration.immediatePrefixes = ["/_fake/receiver/"]
        var meta = FakeMeta.Configuration()
        if let id = environment.values["META_APP_ID"], !id.isEmpty { meta.appID = id }
        if let secret = environment.values["META_APP_SECRET"], !secret.isEmpty { meta.appSecret = secret }
        if let version = environment.values["META_GRAPH_VERSION"], !version.isEmpty { meta.version = version }
        meta.appCallbackURL = parsed.options["app-callback"]
        let fake = FakeMeta(configuration: meta)
        let server = HTTPServer(configuration: configuration, tooLarge: { _ in Response(status: 413) }, handler: fake.handle)
        try server.start()
        Logger(label: "fake-meta").info("listening", ["address": listen, "graph_version": meta.version])
        let stopped = DispatchSemaphore(value: 0)
        Signals.onTermination { _ in stopped.signal() }
        stopped.wait()
        server.stop()
        return 0
    }
}
