// swift-tools-version:6.0
import PackageDescription

// No package dependencies: Foundation, the toolchain's test libraries, and C libraries from
// Debian wrapped in system-library targets (see ops/setup for the packages).
let package = Package(
    name: "Dualhook",
    products: [
        .executable(name: "dualhook", targets: ["dualhook"]),
    ],
    targets: [
        // C libraries: a module map and one shim header of typed `static inline` wrappers each.
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),

        // Lower modules: know nothing about onboarding.
        .target(name: "Logging"),
        .target(name: "JSON"),
        .target(name: "Postgres", dependencies: ["CPostgres", "Logging"]),
        .target(name: "Crypto", dependencies: ["CCrypto"]),
        .target(name: "JobQueue", dependencies: ["Postgres", "Logging"]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "Logging"]),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "Meta", dependencies: ["HTTPClient", "Crypto", "JSON"]),
        .target(name: "FakeMeta", dependencies: ["HTTPServer", "HTTPClient", "Meta", "Crypto"]),

        // The product, one folder per feature.
        .target(name: "Dualhook", dependencies: ["Postgres", "JobQueue", "HTTPServer", "HTTPClient", "Meta", "Crypto", "Logging", "JSON"]),

        // The executable.
        .executableTarget(name: "dualhook", dependencies: ["Postgres", "JobQueue", "HTTPServer", "Dualhook", "FakeMeta", "Meta", "Crypto", "Logging"]),

        // Tests: one target per module; integration tests share TestSupport.
        .target(name: "TestSupport", dependencies: ["Postgres", "HTTPServer", "HTTPClient", "Crypto", "Logging"], path: "Tests/TestSupport"),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "LoggingTests", dependencies: ["Logging"]),
        .testTarget(name: "JobQueueTests", dependencies: ["JobQueue", "Postgres", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Dualhook", "JobQueue", "Postgres", "TestSupport"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPClient", "TestSupport"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "HTTPServer", "TestSupport"]),
        .testTarget(name: "MetaTests", dependencies: ["Meta", "HTTPClient", "HTTPServer", "Crypto", "TestSupport"]),
        .testTarget(name: "FakeMetaTests", dependencies: ["FakeMeta", "Meta", "HTTPClient", "HTTPServer", "Crypto", "TestSupport"]),
        .testTarget(name: "APITests", dependencies: ["Dualhook", "HTTPServer", "HTTPClient", "JobQueue", "Meta", "Postgres", "TestSupport"]),
    ]
)
