import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The shared database of a multi-replica installation: a PostgresNIO connection pool to one
/// PostgreSQL server. The pool runs for the store's lifetime (`run`); queries wait for a
/// connection, and fail fast with `APIError.storageUnavailable` when the server cannot be reached.
public final class PostgresStore: Sendable {
    public let client: PostgresClient
    public let url: PostgresURL
    let logger: Logger
    /// How long a request waits for the database before it is answered 503.
    let requestDeadline: Duration

    /// `requestDeadline`: 2 s for a server; tests whose process other suites keep busy give
    /// their stores longer, so a starved thread is not mistaken for a database outage.
    public init(url: PostgresURL, maximumConnections: Int = 8, requestDeadline: Duration = .seconds(2), logger: Logger) throws {
        self.url = url
        self.logger = logger
        self.requestDeadline = requestDeadline
        var configuration: PostgresClient.Configuration
        if let socket = url.socketDirectory {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socket)/.s.PGSQL.\(url.port)", username: url.user, password: url.password,
                database: url.database)
        } else {
            configuration = PostgresClient.Configuration(
                host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
                tls: try Self.tls(url))
        }
        configuration.options.maximumConnections = maximumConnections
        // A replica must notice a database that went away within seconds, not the default ten.
        configuration.options.connectTimeout = .seconds(3)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// libpq's `sslmode`s on NIOSSL: `allow` and `prefer` try TLS and accept a plain connection,
    /// `require` insists on TLS without checking the certificate (as libpq does without a root
    /// certificate), `verify-ca` checks the chain, `verify-full` the host name too.
    static func tls(_ url: PostgresURL) throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root = url.rootCertificate {
            tls.trustRoots = .file(root)
        }
        switch url.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = url.rootCertificate == nil ? .none : .noHostnameVerification
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }

    /// Runs the connection pool until cancelled.
    public func run() async {
        await client.run()
    }

    /// Runs `body` with the pool running beside it (the CLI's commands, tests), then stops it.
    public func using<Value: Sendable>(_ body: (PostgresStore) async throws -> Value) async throws -> Value {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }
}

extension PostgresStore {
    /// Runs `body` against the pool; a database that cannot be reached within `deadline`
    /// (connecting, or a connection lost mid-query) becomes `APIError.storageUnavailable`. Errors
    /// the server reports about a statement stay as they are: those are bugs, not outages.
    func storageCall<Value: Sendable>(
        deadline: Duration? = nil, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        do {
            return try await Self.racing(deadline: deadline ?? requestDeadline, body)
        } catch let error as PSQLError where error.code == .server {
            logger.error("Database statement failed", metadata: ["error": "\(String(reflecting: error))"])
            throw error
        } catch let error where Self.isConnectionFailure(error) {
            logger.warning("Database unreachable", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError.storageUnavailable
        }
    }

    /// Errors that say the database could not be reached or the connection broke — as opposed
    /// to a statement the server refused, or the caller's own errors, which pass unchanged.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.code != .server }
        if error is ChannelError || error is IOError || error is NIOConnectionError { return true }
        return String(describing: type(of: error)).contains("ConnectionPoolError")
    }

    /// `body`'s result, or `storageUnavailable` once `deadline` has passed — then at once, even if
    /// `body` takes a while to notice its cancellation (a connection attempt in progress), which
    /// a task group would wait for.
    static func racing<Value: Sendable>(
        deadline: Duration, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        typealias Race = StorageRace<Value>
        let race = NIOLockedValueBox(Race())
        @Sendable func finish(_ result: Result<Value, any Error>) {
            let (continuation, work, timer) = race.withLockedValue { race in
                defer { race = Race() }
                return (race.continuation, race.work, race.timer)
            }
            guard let continuation else { return }
            work?.cancel()
            timer?.cancel()
            continuation.resume(with: result)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.withLockedValue { $0.continuation = continuation }
                // An event loop's timer: a heap entry, where a sleeping task would cost a
                // Dispatch timer and a thread wake-up on every database call.
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(
                    in: .nanoseconds(Int64(deadline.components.seconds) * 1_000_000_000 + deadline.components.attoseconds / 1_000_000_000)
                ) { finish(.failure(APIError.storageUnavailable)) }
                let work = Task {
                    do { finish(.success(try await body())) } catch { finish(.failure(error)) }
                }
                let finished = race.withLockedValue { race in
                    guard race.continuation != nil else { return true }
                    race.work = work
                    race.timer = timer
                    return false
                }
                if finished { timer.cancel() }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
        }
    }

    /// `body` in one transaction on one connection, under `storageCall`'s rules.
    func transaction<Value: Sendable>(
        deadline: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await storageCall(deadline: deadline) { try await self.inTransaction(body) }
    }

    /// `body` in one transaction, its own errors thrown as they are (not wrapped in
    /// PostgresNIO's `PostgresTransactionError`).
    func inTransaction<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    /// Whether the server answers a trivial query within a second.
    func isReachable() async -> Bool {
        (try? await storageCall(deadline: .seconds(1)) { try await self.client.query("SELECT 1") }) != nil
    }
}

/// One database call against its deadline: whichever ends first resumes the caller.
private struct StorageRace<Value: Sendable> {
    var continuation: CheckedContinuation<Value, any Error>?
    var work: Task<Void, Never>?
    var timer: Scheduled<Void>?
}
