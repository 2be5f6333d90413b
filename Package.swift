// swift-tools-version:6.0
import PackageDescription

// Engine-free server targets are built with the default settings; anything numeric that ends up
// here later (engines) gets `-O` in debug too so tests do not crawl.
let package = Package(
    name: "visioncraft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "visioncraft", targets: ["visioncraft"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // The inference engine: a library that knows nothing of HTTP or storage. Numeric code is
        // built optimised in debug too, or the tests that run a real model would crawl.
        .target(
            name: "LLMEngine",
            dependencies: ["LLMKernels", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: [.unsafeFlags(["-O"])]
        ),
        // The innermost quantized dot products, in C for AVX2 (chosen at run time, with a
        // portable fallback). Optimised in every configuration for the same reason.
        .target(
            name: "LLMKernels",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]
        ),
        .testTarget(
            name: "LLMEngineTests",
            dependencies: ["LLMEngine"],
            resources: [.copy("Reference")]
        ),
        // The diffusion engine (Stable Diffusion): a library like the chat engine, sharing its
        // threads, mapped files and C kernels.
        .target(
            name: "DiffusionEngine",
            dependencies: ["LLMEngine", "LLMKernels", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: [.unsafeFlags(["-O"])]
        ),
        .testTarget(
            name: "DiffusionEngineTests",
            dependencies: ["DiffusionEngine", "LLMEngine"],
            resources: [.copy("Reference")]
        ),
        // Image files written by the project (PNG now): no image library, deflate from zlib.
        .target(
            name: "MediaCodecs",
            dependencies: [
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MediaCodecsTests",
            dependencies: ["MediaCodecs", .product(name: "CompressNIO", package: "compress-nio")]
        ),
        .target(
            name: "VisionCraftServer",
            dependencies: [
                "LLMEngine",
                "DiffusionEngine",
                "MediaCodecs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The web pages (HTML, CSS, JavaScript modules), served by the binary itself.
            resources: [.copy("WebAssets")]
        ),
        .executableTarget(
            name: "visioncraft",
            dependencies: [
                "VisionCraftServer",
                "LLMEngine",
                "LLMKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "VisionCraftServerTests",
            dependencies: [
                "VisionCraftServer",
                "DiffusionEngine",
                "MediaCodecs",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
