import Foundation
import Testing
@testable import VisionCraftServer

/// How `--database` / `VISIONCRAFT_DATABASE_URL` / `server.database` are read.
struct DatabaseLocationTests {
    @Test func noURLIsSQLiteInTheDataDirectory() throws {
        #expect(try DatabaseLocation.resolve(url: nil, dataDirectory: "/var/lib/vc") == .sqlite(path: "/var/lib/vc/visioncraft.sqlite"))
        #expect(try DatabaseLocation.resolve(url: "", dataDirectory: "d") == .sqlite(path: "d/visioncraft.sqlite"))
        #expect(try DatabaseLocation.resolve(url: "sqlite:/tmp/x.sqlite", dataDirectory: "d") == .sqlite(path: "/tmp/x.sqlite"))
    }

    @Test func postgresURLsAreReadAsLibpqReadsThem() throws {
        let url = try PostgresURL("postgresql://vc%40app:p%3Ass@db.internal:6543/vision%20craft?sslmode=verify-full&sslrootcert=/ca.pem")
        #expect(url.user == "vc@app" && url.password == "p:ss" && url.host == "db.internal" && url.port == 6543)
        #expect(url.database == "vision craft" && url.sslMode == .verifyFull && url.rootCertificate == "/ca.pem")
        #expect(!url.redacted.contains("p:ss") && url.redacted.contains("***"))

        let defaults = try PostgresURL("postgres://localhost")
        #expect(defaults.port == 5432 && defaults.user == "postgres" && defaults.database == "postgres" && defaults.sslMode == .prefer)
        let socket = try PostgresURL("postgres:///vc?host=/run/postgresql&user=app")
        #expect(socket.socketDirectory == "/run/postgresql" && socket.user == "app" && socket.database == "vc")
    }

    @Test(arguments: ["mysql://x/y", "postgres://h/db?sslmode=sometimes", "postgres://h/db?pool=3", "postgres://h:99999/db"])
    func badURLsAreRefusedWithTheReason(_ text: String) {
        #expect(throws: ConfigurationError.self) { try DatabaseLocation.resolve(url: text, dataDirectory: "d") }
    }

    @Test func aPasswordNeverAppearsInTheRefusal() {
        do {
            _ = try PostgresURL("mysql://app:hunter2@h/db")
            Issue.record("accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }
}
