import Foundation
import NIOConcurrencyHelpers

/// Follows one authenticated request to its end and records its usage exactly once, whether it
/// succeeded, was refused, failed upstream or was abandoned by the client.
final class UsageTicket: Sendable {
    private struct State {
        var model = ""
        var admitted = false
        var promptTokens = 0
        var completionTokens = 0
        var recorded = false
    }

    /// What every ticket records into: the limits it is admitted by, the usage log, the metrics.
    struct Office: Sendable {
        let admission: any AdmissionControl
        let usage: UsageRecorder
        let metrics: ServerMetrics
        let clock: WallClock

        func ticket(key: APIKeyRecord, category: UsageCategory) -> UsageTicket {
            UsageTicket(office: self, key: key, category: category)
        }
    }

    private let office: Office
    private let key: APIKeyRecord
    private let category: UsageCategory
    private let started = ContinuousClock.now
    private let state = NIOLockedValueBox(State())

    private init(office: Office, key: APIKeyRecord, category: UsageCategory) {
        self.office = office
        self.key = key
        self.category = category
    }

    func setModel(_ model: String) {
        state.withLockedValue { $0.model = model }
    }

    /// Checks the key's limits; once admitted, the request counts toward its quota.
    func admit() async throws -> AdmissionPermit {
        do {
            let permit = try await office.admission.admit(key, category: category)
            state.withLockedValue { $0.admitted = true }
            return permit
        } catch let error as APIError {
            office.metrics.limitRejected(category: category, status: error.status.code)
            throw error
        }
    }

    func addTokens(prompt: Int, completion: Int) {
        state.withLockedValue {
            $0.promptTokens = prompt
            $0.completionTokens = completion
        }
    }

    func finish(status: Int) {
        let elapsed = ContinuousClock.now - started
        let snapshot = state.withLockedValue { state -> State? in
            guard !state.recorded else { return nil }
            state.recorded = true
            return state
        }
        guard let snapshot else { return }
        office.metrics.tokens(model: snapshot.model, prompt: snapshot.promptTokens, completion: snapshot.completionTokens)
        office.usage.record(UsageRecord(
            keyID: key.id, category: category, model: snapshot.model, promptTokens: snapshot.promptTokens,
            completionTokens: snapshot.completionTokens, status: status,
            durationMilliseconds: Int(elapsed.nanoseconds / 1_000_000), createdAt: office.clock.now(),
            countsTowardQuota: snapshot.admitted))
    }

    /// Runs the part of a request that may fail with a client-visible error, recording it if so.
    func recordingFailures<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as APIError {
            finish(status: error.status.code)
            throw error
        } catch {
            finish(status: 500)
            throw error
        }
    }
}
