// swift-tools-version:6.0
import PackageDescription

// Release builds of the two data-path modules skip the dynamic exclusivity checks (the static ones stay):
// 108.4k -> 102.8k instructions per proxied request (-5.2 %, bench/RESULTS.md session 5, s5-h1hot); the
// checks cost a runtime call and a thread-local lookup per class-property access. Safe because every piece
// of state they guard (handlers, ProxyRequest, scanners, pools) is confined to one event loop by Swift 6
// strict concurrency, so no access can overlap from another thread; a same-thread overlapping access would
// still trap in debug builds, where the tests run with the checks on.
let uncheckedExclusivityInRelease: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

// Layers only point down: Core < ConfigModel < Config/ACL/Balancing < Observability < HTTP < ControlPlane < executable.
// The data path (BreakwaterHTTP) never imports BreakwaterConfig, only the immutable model.
let package = Package(
    name: "Breakwater",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "breakwater", targets: ["breakwater"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        // Data tier: embedded SQLite tables, HTTP APIs off the proxy's hot path.
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "BreakwaterCore"),
        // HTTP/1.x wire scanning on bytes (no dependencies, so the fuzz build links it alone).
        .target(name: "BreakwaterHTTP1Wire", swiftSettings: uncheckedExclusivityInRelease),
        .target(
            name: "CBreakwaterOpenSSL",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "BreakwaterTLS",
            dependencies: [
                "CBreakwaterOpenSSL", "BreakwaterCore", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(name: "BreakwaterConfigModel", dependencies: ["BreakwaterCore"]),
        .systemLibrary(name: "CBreakwaterRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(name: "BreakwaterKafka", dependencies: ["CBreakwaterRdKafka"]),
        .target(name: "BreakwaterConfig", dependencies: ["BreakwaterCore", "BreakwaterConfigModel"]),
        .target(name: "BreakwaterACL", dependencies: ["BreakwaterCore", "BreakwaterConfigModel"]),
        .target(
            name: "BreakwaterStickTables",
            dependencies: ["BreakwaterCore", "BreakwaterConfigModel"]
        ),
        .target(
            name: "BreakwaterBalancing",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "BreakwaterObservability",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "BreakwaterFastCGI",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "BreakwaterHTTP",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel", "BreakwaterACL", "BreakwaterBalancing",
                "BreakwaterObservability", "BreakwaterStickTables", "BreakwaterFastCGI", "BreakwaterTLS",
                "BreakwaterHTTP1Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: uncheckedExclusivityInRelease
        ),
        .target(
            name: "BreakwaterControlPlane",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel", "BreakwaterHTTP", "BreakwaterObservability",
                "BreakwaterStickTables", "BreakwaterTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "BreakwaterDoctor", dependencies: ["BreakwaterCore", "BreakwaterConfigModel"]),
        .target(
            name: "BreakwaterDrills",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel",
                "BreakwaterMySQLWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "BreakwaterMySQLWire",
            dependencies: [
                "CBreakwaterOpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "BreakwaterRESP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "BreakwaterTelemetry",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel", "BreakwaterRESP", "BreakwaterMySQLWire",
                "BreakwaterKafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BreakwaterMySQLMux",
            dependencies: [
                "BreakwaterMySQLWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "BreakwaterMySQLMuxAdmin",
            dependencies: [
                "BreakwaterMySQLMux", "BreakwaterMySQLWire", "BreakwaterConfigModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // jobs `queue amqp`: Debian's librabbitmq (librabbitmq-dev) behind a narrow C shim, driven on dedicated threads.
        .target(name: "CBreakwaterRabbitMQ", linkerSettings: [.linkedLibrary("rabbitmq")]),
        .target(
            name: "BreakwaterAMQP",
            dependencies: ["CBreakwaterRabbitMQ", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "BreakwaterJobs",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel",
                "BreakwaterAMQP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "breakwater",
            dependencies: [
                "BreakwaterCore", "BreakwaterConfigModel", "BreakwaterConfig", "BreakwaterHTTP",
                "BreakwaterControlPlane", "BreakwaterObservability", "BreakwaterTLS",
                "BreakwaterDoctor",
                "BreakwaterDrills",
                "BreakwaterJobs",
                "BreakwaterTelemetry",
                "BreakwaterMySQLMux", "BreakwaterMySQLMuxAdmin",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BreakwaterDoctorTests",
            dependencies: ["BreakwaterDoctor", "BreakwaterConfig", "BreakwaterConfigModel", "BreakwaterCore"]
        ),
        .testTarget(name: "BreakwaterDashboardTests", dependencies: ["BreakwaterObservability", "BreakwaterCore"], exclude: ["Driver"]),
        .testTarget(name: "BreakwaterDrillsTests", dependencies: ["BreakwaterDrills"]),
        .testTarget(name: "BreakwaterHTTP1WireTests", dependencies: ["BreakwaterHTTP1Wire"]),
        .testTarget(name: "BreakwaterConfigTests", dependencies: ["BreakwaterConfig", "BreakwaterConfigModel"], exclude: ["Fixtures"]),
        .testTarget(
            name: "BreakwaterStickTablesTests",
            dependencies: ["BreakwaterStickTables", "BreakwaterConfigModel"]
        ),
        .testTarget(
            name: "BreakwaterUnitTests",
            dependencies: [
                "BreakwaterACL", "BreakwaterBalancing", "BreakwaterObservability", "BreakwaterConfig",
                "BreakwaterConfigModel", "BreakwaterHTTP", "BreakwaterControlPlane",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BreakwaterFastCGITests",
            dependencies: [
                "BreakwaterFastCGI", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BreakwaterTLSTests",
            dependencies: [
                "BreakwaterTLS", "CBreakwaterOpenSSL", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BreakwaterMySQLMuxTests",
            dependencies: [
                "BreakwaterMySQLWire", "BreakwaterMySQLMux", "BreakwaterMySQLMuxAdmin", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BreakwaterIntegrationTests",
            dependencies: [
                // Only for FastCGITests, which drive the FastCGI client against a real php-fpm directly.
                "BreakwaterFastCGI", "BreakwaterConfigModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(
            name: "BreakwaterRESPTests",
            dependencies: [
                "BreakwaterRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BreakwaterTelemetryTests",
            dependencies: [
                "BreakwaterTelemetry", "BreakwaterConfigModel",
                "BreakwaterKafka",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "BreakwaterJobsTests",
            dependencies: ["BreakwaterJobs", "BreakwaterConfigModel"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
