import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresNIO

/// The shared database of a multi-replica installation: a PostgresNIO connection pool to one
/// PostgreSQL server. The pool runs for the store's lifetime (`run`); queries wait for a
/// connection, and fail fast with `StorageUnavailable` when the server cannot be reached.
public final class PostgresStore: Sendable {
    public let client: PostgresClient
    public let url: PostgresURL
    let logger: Logger

    public init(url: PostgresURL, maximumConnections: Int = 8, logger: Logger) throws {
        self.url = url
        self.logger = logger
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
    /// How long a request waits for the database before it is answered 503.
    static let requestDeadline: Duration = .seconds(2)

    /// Runs `body` against the pool; a database that cannot be reached within `deadline`
    /// (connecting, or a connection lost mid-query) becomes `APIError.storageUnavailable`. Errors
    /// the server reports about a statement stay as they are: those are bugs, not outages.
    func storageCall<Value: Sendable>(
        deadline: Duration = requestDeadline, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        do {
            return try await Self.racing(deadline: deadline, body)
        } catch let error as PSQLError where error.code == .server {
            logger.error("Database statement failed", metadata: ["error": "\(String(reflecting: error))"])
            throw error
        } catch let error as PostgresError {
            logger.error("Database statement failed", metadata: ["error": "\(String(reflecting: error))"])
            throw error
        } catch let error as APIError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("Database unreachable", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError.storageUnavailable
        }
    }

    /// `body`'s result, or `storageUnavailable` once `deadline` has passed — then at once, even if
    /// `body` takes a while to notice its cancellation (a connection attempt in progress), which
    /// a task group would wait for.
    static func racing<Value: Sendable>(
        deadline: Duration, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let outcome = NIOLockedValueBox<CheckedContinuation<Value, any Error>?>(nil)
        let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
        @Sendable func finish(_ result: Result<Value, any Error>) {
            let continuation = outcome.withLockedValue { continuation in
                defer { continuation = nil }
                return continuation
            }
            guard let continuation else { return }
            for task in tasks.withLockedValue({ $0 }) { task.cancel() }
            continuation.resume(with: result)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.withLockedValue { $0 = continuation }
                let work = Task {
                    do { finish(.success(try await body())) } catch { finish(.failure(error)) }
                }
                let timer = Task {
                    guard (try? await Task.sleep(for: deadline)) != nil else { return }
                    finish(.failure(APIError.storageUnavailable))
                }
                tasks.withLockedValue { $0 = [work, timer] }
                // Finished before the tasks were stored: the timer need not wait out its time.
                if outcome.withLockedValue({ $0 == nil }) { timer.cancel() }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
        }
    }

    /// `body` in one transaction on one connection, under `storageCall`'s rules.
    func transaction<Value: Sendable>(
        deadline: Duration = requestDeadline, _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await storageCall(deadline: deadline) { try await self.inTransaction(body) }
    }

    /// `body` in one transaction, its own errors thrown as they are (not wrapped in
    /// PostgresNIO's `PostgresTransactionError`).
    func inTransaction<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// Whether the server answers a trivial query within a second.
    func isReachable() async -> Bool {
        (try? await storageCall(deadline: .seconds(1)) { try await self.client.query("SELECT 1") }) != nil
    }
}
