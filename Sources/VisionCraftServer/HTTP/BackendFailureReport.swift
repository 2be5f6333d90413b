import Logging

extension BackendError {
    /// Counts the failure and logs what the backend said. The client sees only `apiError()`: our
    /// own words, never the upstream's text or address.
    func report(model: String, metrics: ServerMetrics, logger: Logger) {
        metrics.backendFailed(model: model, kind: kind)
        // A refusal is the client's input at fault, not the backend's health.
        logger.log(level: kind == .rejected ? .info : .warning, "Backend failed", metadata: [
            "model": "\(model)", "kind": "\(kind.rawValue)", "detail": "\(detail ?? message)",
        ])
    }
}
