import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// The server's Prometheus metrics, made through swift-metrics with an explicit factory so that
/// each application (and each test) has its own registry instead of a process-wide one.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Request metrics by method, route and status: made once, then only incremented, since making
    /// one means a registry lookup and label formatting that every request would otherwise repeat.
    private let requestMetrics = NIOLockedValueBox<[RequestKey: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    /// The other counters, by label and dimension values, made once for the same reason.
    private let counters = NIOLockedValueBox<[[String]: CoreMetrics.Counter]>([:])

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
    }

    public func requestCompleted(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let (counter, timer) = requestMetrics.withLockedValue { cache in
            if let metrics = cache[key] { return metrics }
            let dimensions = [("method", method), ("route", route), ("status", String(status))]
            let metrics = (
                Counter(label: "visioncraft_http_requests_total", dimensions: dimensions, factory: factory),
                Timer(label: "visioncraft_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            )
            cache[key] = metrics
            return metrics
        }
        counter.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }

    public func tokens(model: String, prompt: Int, completion: Int) {
        if prompt > 0 { counter("visioncraft_tokens_total", [("model", model), ("kind", "prompt")]).increment(by: prompt) }
        if completion > 0 {
            counter("visioncraft_tokens_total", [("model", model), ("kind", "completion")]).increment(by: completion)
        }
    }

    public func limitRejected(category: UsageCategory, status: Int) {
        let reason = status == 429 ? "rate" : "quota"
        counter("visioncraft_limit_rejections_total", [("category", category.rawValue), ("reason", reason)]).increment()
    }

    public func backendFailed(model: String, kind: BackendError.Kind) {
        counter("visioncraft_backend_errors_total", [("model", model), ("kind", kind.rawValue)]).increment()
    }

    /// Usage records dropped because the buffer waiting for the database was full.
    public func usageDropped(_ count: Int) {
        counter("visioncraft_usage_dropped_total", []).increment(by: count)
    }

    /// 1 while the Telegram bot is connected and receiving updates, 0 otherwise.
    public func botUp(_ up: Bool) {
        botGauge.record(up ? 1 : 0)
    }

    private var botGauge: CoreMetrics.Gauge {
        Gauge(label: "visioncraft_telegram_bot_up", factory: factory)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        let key = [label] + dimensions.flatMap { [$0.0, $0.1] }
        return counters.withLockedValue { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            cache[key] = counter
            return counter
        }
    }

    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
