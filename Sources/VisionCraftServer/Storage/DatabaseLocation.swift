import Foundation

/// Where the server keeps its keys, usage and bot state: the embedded SQLite file (the default,
/// which needs nothing), or a PostgreSQL server that several replicas share.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// `url` when one is given (`--database`, `VISIONCRAFT_DATABASE_URL`, the config file's
    /// `database`), else SQLite under the data directory.
    public static func resolve(url: String?, dataDirectory: String) throws -> DatabaseLocation {
        guard let url, !url.isEmpty else {
            return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("visioncraft.sqlite"))
        }
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count)).replacingOccurrences(of: "//", with: "", options: .anchored)
            guard !path.isEmpty else { throw ConfigurationError("database: \(url) names no file") }
            return .sqlite(path: path)
        }
        return .postgres(try PostgresURL(url))
    }

    /// For logs and errors: the location without its password.
    public var redacted: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): url.redacted
        }
    }
}

/// A `postgres://user:password@host:port/database?sslmode=…` URL as libpq reads it: the
/// `sslmode` values `disable`, `allow`, `prefer` (the default), `require`, `verify-ca` and
/// `verify-full`, `sslrootcert` for the CA file, and `host=/directory` for a Unix socket.
public struct PostgresURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var rootCertificate: String?
    /// The directory of the server's Unix socket, when connecting through one.
    public var socketDirectory: String?

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else {
            throw ConfigurationError("database: \(Self.redact(text)) is not a postgres://user:password@host:port/database URL")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set = ["sslmode", "sslrootcert", "host", "port", "user", "password", "dbname", "application_name"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError("database: the URL's parameter \(unknown) is not one this server reads")
        }
        let hostParameter = query["host"]
        socketDirectory = hostParameter.flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? (socketDirectory == nil ? hostParameter : nil) ?? "localhost"
        if let portText = query["port"] {
            guard let port = Int(portText) else { throw ConfigurationError("database: port \(portText) is not a number") }
            self.port = port
        } else {
            port = components.port ?? 5432
        }
        guard (1...65535).contains(port) else { throw ConfigurationError("database: port \(port) is out of range") }
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? query["user"] ?? "postgres"
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? query["password"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (query["dbname"] ?? user) : (path.removingPercentEncoding ?? path)
        let mode = query["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw ConfigurationError("database: sslmode \(mode) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.sslMode = sslMode
        rootCertificate = query["sslrootcert"]
    }

    /// The URL with its password replaced, for logs.
    public var redacted: String {
        let place = socketDirectory.map { "\(host)?host=\($0)" } ?? "\(host):\(port)"
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(place)/\(database) sslmode=\(sslMode.rawValue)"
    }

    static func redact(_ text: String) -> String {
        guard let components = URLComponents(string: text), components.password != nil else { return text }
        var copy = components
        copy.password = "***"
        return copy.string ?? "(unreadable URL)"
    }
}
