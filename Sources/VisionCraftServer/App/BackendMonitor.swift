import ServiceLifecycle

/// Re-checks backends on an interval so list endpoints show what is servable now.
struct BackendMonitor: Service {
    let registry: ModelRegistry
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isShuttingDownGracefully else { break }
            await registry.refresh()
        }
    }
}
