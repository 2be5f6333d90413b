import AsyncHTTPClient
import ServiceLifecycle

/// Closes upstream connection pools once the server no longer needs them.
struct HTTPClientsShutdown: Service {
    let clients: [HTTPClient]
    let loopLocalClients: [LoopLocalHTTPClient]

    func run() async throws {
        try? await gracefulShutdown()
        for client in loopLocalClients { client.shutdown() }
        for client in clients {
            try? await client.shutdown()
        }
    }
}
