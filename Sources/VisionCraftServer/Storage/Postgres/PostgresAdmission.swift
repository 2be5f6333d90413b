import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// Limits enforced by the shared database, so they hold exactly across every replica: one call
/// of `visioncraft_admit` per keyed request (one round trip) checks and counts under a lock on
/// the key. A concurrent generation holds a lease row that `LeaseRenewal` keeps alive while it
/// runs; a replica that dies stops renewing, and its slots return within the lease time.
public final class PostgresAdmission: AdmissionControl {
    let store: PostgresStore
    private let policies: TierPolicies
    private let clock: WallClock
    /// This process, as its leases name it.
    let replica: String
    let leaseSeconds: Double
    private let releases: LeaseReleases

    public init(store: PostgresStore, policies: TierPolicies, clock: WallClock, leaseSeconds: Double = 30,
                replica: String = UUID().uuidString) {
        self.store = store
        self.policies = policies
        self.clock = clock
        self.leaseSeconds = leaseSeconds
        self.replica = replica
        releases = LeaseReleases(store: store)
    }

    public func admit(_ key: APIKeyRecord, category: UsageCategory) async throws -> AdmissionPermit {
        let now = clock.now()
        let policy = policies[key.effectiveTier(at: now)]
        let limits = policy[category]
        let day = AdmissionStateMachine.dayIndex(now), month = AdmissionStateMachine.monthIndex(now)
        let dayStart = AdmissionStateMachine.startOfDay(now).timeIntervalSince1970
        let monthStart = AdmissionStateMachine.startOfMonth(now).timeIntervalSince1970
        let (keyID, time, replica, lease) = (key.id, now.timeIntervalSince1970, replica, leaseSeconds)
        let (perDay, perMonth, concurrency) = (limits.perDay, limits.perMonth, policy.concurrency)
        let (rateRequests, rateSeconds) = (limits.rate?.requests, limits.rate?.seconds)
        let store = store
        let statement = AdmitStatement(
            key: keyID, category: category.rawValue, now: time, day: day, month: month, dayStart: dayStart,
            monthStart: monthStart, perDay: perDay, perMonth: perMonth, concurrency: concurrency,
            rateRequests: rateRequests, rateSeconds: rateSeconds, replica: replica, leaseSeconds: lease)
        let (outcome, retryAfter, leaseID) = try await store.storageCall {
            var result: (String, Int?, Int64?) = ("", nil, nil)
            for try await row in try await store.client.execute(statement, logger: store.logger) { result = row }
            return result
        }
        let refusal: LimitRefusal
        switch outcome {
        case "admitted":
            guard let leaseID else { return AdmissionPermit(.immediate {}) }
            let releases = releases
            return AdmissionPermit(.deferred(
                background: { releases.release(leaseID) },
                awaited: { await releases.delete([leaseID]) }))
        case "day": refusal = .dailyQuota
        case "month": refusal = .monthlyQuota
        case "concurrency": refusal = .concurrency
        default: refusal = .rate(retryAfterSeconds: retryAfter ?? 1)
        }
        throw refusal.error(policy: policy, category: category)
    }

    /// Extends this replica's leases; run every third of the lease time.
    func renewLeases() async throws {
        let (replica, until, store) = (replica, clock.now().timeIntervalSince1970 + leaseSeconds, store)
        try await store.storageCall {
            try await store.client.query("UPDATE generation_leases SET expires_at = \(until) WHERE replica = \(replica)")
        }
    }

    /// The admission function. The checks and their order are the in-process state machine's
    /// (day, month, concurrency, rate); the times are the replica's, passed in, so a replica's
    /// clock decides its day as it does for one process.
    static let functionSQL = """
        CREATE FUNCTION visioncraft_admit(
            p_key BIGINT, p_category TEXT, p_now DOUBLE PRECISION, p_day BIGINT, p_month BIGINT,
            p_day_start DOUBLE PRECISION, p_month_start DOUBLE PRECISION, p_per_day BIGINT, p_per_month BIGINT,
            p_concurrency BIGINT, p_rate_requests BIGINT, p_rate_seconds BIGINT, p_replica TEXT,
            p_lease_seconds DOUBLE PRECISION,
            OUT outcome TEXT, OUT retry_after INTEGER, OUT lease BIGINT)
        LANGUAGE plpgsql AS $$
        DECLARE
            c limit_counters%ROWTYPE;
            inside DOUBLE PRECISION[];
            running BIGINT;
        BEGIN
            -- One admission of a key at a time across all replicas, until this statement's
            -- transaction ends: each sees the counts and leases the one before it left.
            PERFORM pg_advisory_xact_lock(1986, (p_key % 2147483647)::INTEGER);
            -- The count need not wait for its WAL flush: a crash of the database itself could lose
            -- the last milliseconds of admissions (the limits then err toward the user), and the
            -- key's lock is held for a fraction of the time.
            PERFORM set_config('synchronous_commit', 'off', true);
            SELECT * INTO c FROM limit_counters WHERE key_id = p_key AND category = p_category;
            IF NOT FOUND THEN
                -- The slot's first admission on this database: start from the usage already
                -- recorded (an installation copied from SQLite, or a day already under way).
                c.key_id := p_key;
                c.category := p_category;
                c.day := p_day;
                c.month := p_month;
                c.recent := '{}';
                SELECT COALESCE(SUM(CASE WHEN created_at >= p_day_start THEN 1 ELSE 0 END), 0), COUNT(*)
                  INTO c.day_count, c.month_count
                  FROM usage_events
                 WHERE key_id = p_key AND category = p_category AND counts_toward_quota = 1 AND created_at >= p_month_start;
                INSERT INTO limit_counters VALUES (c.*);
            END IF;
            IF c.day <> p_day THEN c.day := p_day; c.day_count := 0; END IF;
            IF c.month <> p_month THEN c.month := p_month; c.month_count := 0; END IF;
            IF p_per_day IS NOT NULL AND c.day_count >= p_per_day THEN outcome := 'day'; RETURN; END IF;
            IF p_per_month IS NOT NULL AND c.month_count >= p_per_month THEN outcome := 'month'; RETURN; END IF;
            IF p_concurrency IS NOT NULL THEN
                DELETE FROM generation_leases WHERE key_id = p_key AND expires_at <= p_now;
                SELECT COUNT(*) INTO running FROM generation_leases WHERE key_id = p_key;
                IF running >= p_concurrency THEN outcome := 'concurrency'; retry_after := 1; RETURN; END IF;
            END IF;
            IF p_rate_requests IS NOT NULL THEN
                inside := ARRAY(SELECT t FROM unnest(c.recent) AS t WHERE t > p_now - p_rate_seconds ORDER BY t);
                IF cardinality(inside) >= p_rate_requests THEN
                    outcome := 'rate';
                    retry_after := ceil(inside[1] + p_rate_seconds - p_now)::INTEGER;
                    RETURN;
                END IF;
                c.recent := inside || p_now;
            ELSE
                c.recent := '{}';
            END IF;
            UPDATE limit_counters
               SET day = c.day, day_count = c.day_count + 1, month = c.month, month_count = c.month_count + 1,
                   recent = c.recent
             WHERE key_id = p_key AND category = p_category;
            IF p_concurrency IS NOT NULL THEN
                INSERT INTO generation_leases (key_id, replica, expires_at)
                VALUES (p_key, p_replica, p_now + p_lease_seconds) RETURNING id INTO lease;
            END IF;
            outcome := 'admitted';
        END $$;
        """
}

/// The admission call, prepared once per connection (the server plans it once, not per request).
struct AdmitStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT outcome, retry_after, lease FROM visioncraft_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .int8, .text, .float8, .int8, .int8, .float8, .float8, .int8, .int8, .int8, .int8, .int8, .text, .float8,
    ]
    typealias Row = (String, Int?, Int64?)

    var key: Int64
    var category: String
    var now: Double
    var day, month: Int
    var dayStart, monthStart: Double
    var perDay, perMonth, concurrency, rateRequests, rateSeconds: Int?
    var replica: String
    var leaseSeconds: Double

    init(key: Int64, category: String, now: Double, day: Int, month: Int, dayStart: Double, monthStart: Double,
         perDay: Int?, perMonth: Int?, concurrency: Int?, rateRequests: Int?, rateSeconds: Int?, replica: String,
         leaseSeconds: Double) {
        (self.key, self.category, self.now, self.day, self.month) = (key, category, now, day, month)
        (self.dayStart, self.monthStart) = (dayStart, monthStart)
        (self.perDay, self.perMonth, self.concurrency) = (perDay, perMonth, concurrency)
        (self.rateRequests, self.rateSeconds) = (rateRequests, rateSeconds)
        (self.replica, self.leaseSeconds) = (replica, leaseSeconds)
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 14)
        bindings.append(key)
        bindings.append(category)
        bindings.append(now)
        bindings.append(Int64(day))
        bindings.append(Int64(month))
        bindings.append(dayStart)
        bindings.append(monthStart)
        for limit in [perDay, perMonth, concurrency, rateRequests, rateSeconds] { bindings.append(limit.map(Int64.init)) }
        bindings.append(replica)
        bindings.append(leaseSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

/// Ends leases as generations finish. One statement at a time deletes every lease released
/// meanwhile: alone when the replica is quiet (no wait added), hundreds at once under load, so
/// releases cost the database one statement per batch rather than one per request. A lease whose
/// delete fails (the database away) lapses by itself.
final class LeaseReleases: Sendable {
    private struct State {
        var pending: [Int64] = []
        var draining = false
    }

    private let store: PostgresStore
    private let state = NIOLockedValueBox(State())

    init(store: PostgresStore) {
        self.store = store
    }

    func release(_ lease: Int64) {
        let start = state.withLockedValue { state in
            state.pending.append(lease)
            defer { state.draining = true }
            return !state.draining
        }
        guard start else { return }
        Task {
            while true {
                let batch = state.withLockedValue { state in
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    if state.pending.isEmpty { state.draining = false }
                    return state.pending
                }
                guard !batch.isEmpty else { return }
                await delete(batch)
            }
        }
    }

    func delete(_ leases: [Int64]) async {
        let store = store
        _ = try? await store.storageCall {
            try await store.client.query("DELETE FROM generation_leases WHERE id = ANY(\(leases))")
        }
    }
}

/// Keeps a replica's generation leases alive: every third of the lease time, one statement
/// extends them all. A failed renewal is retried at the next tick (a lease outlives two misses).
struct LeaseRenewal: Service {
    let admission: PostgresAdmission
    let logger: Logger

    func run() async throws {
        let interval = Duration.milliseconds(Int(admission.leaseSeconds * 1000 / 3))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            do {
                try await admission.renewLeases()
            } catch {
                logger.warning("Renewing generation leases failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
