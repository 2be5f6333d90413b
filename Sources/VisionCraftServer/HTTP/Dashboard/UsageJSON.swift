import Foundation

/// How keys and usage appear in the dashboards' JSON (`/v1/me…` and the operator console): one
/// spelling of each field for both, dates as ISO 8601 in UTC.
enum UsageJSON {
    static func date(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(date.formatted(.iso8601))
    }

    /// `2026-12-04`: the UTC day a usage row counts in.
    static func day(_ date: Date) -> String {
        String(date.formatted(.iso8601).prefix(10))
    }

    static func key(_ key: APIKeyRecord, now: Date, policies: TierPolicies) -> JSONValue {
        let effective = key.effectiveTier(at: now)
        return [
            "id": .integer(key.id), "prefix": .string(key.prefix), "label": key.label.map(JSONValue.string) ?? .null,
            "tier": .string(key.tier.rawValue), "tier_until": date(key.tierUntil),
            "effective_tier": .string(effective.rawValue), "tier_name": .string(policies[effective].displayName),
            "active": .bool(key.isActive && key.revokedAt == nil),
            "deactivation_reason": key.deactivationReason.map(JSONValue.string) ?? .null,
            "created_at": date(key.createdAt), "revoked_at": date(key.revokedAt),
        ]
    }

    static func request(_ record: UsageRecord) -> JSONValue {
        [
            "created_at": date(record.createdAt), "category": .string(record.category.rawValue),
            "model": .string(record.model), "status": .integer(Int64(record.status)),
            "prompt_tokens": .integer(Int64(record.promptTokens)),
            "completion_tokens": .integer(Int64(record.completionTokens)),
            "duration_ms": .integer(Int64(record.durationMilliseconds)),
        ]
    }

    /// Totals of some rows, as one JSON object.
    static func totals(_ rows: some Sequence<UsageDayRow>) -> JSONValue {
        var requests = 0, counted = 0, failed = 0, prompt = 0, completion = 0
        for row in rows {
            requests += row.requests
            counted += row.counted
            failed += row.failed
            prompt += row.promptTokens
            completion += row.completionTokens
        }
        return ["requests": .integer(Int64(requests)), "counted": .integer(Int64(counted)),
                "failed": .integer(Int64(failed)), "prompt_tokens": .integer(Int64(prompt)),
                "completion_tokens": .integer(Int64(completion))]
    }

    /// The totals of each category's rows, by category name.
    static func perCategory(_ rows: [UsageDayRow]) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: UsageCategory.allCases.map { category in
            (category.rawValue, totals(rows.lazy.filter { $0.category == category }))
        })
    }

    /// The last `days` UTC days, today included: the first day's start and today's.
    static func window(days: Int, now: Date) -> (since: Date, today: Date) {
        let today = AdmissionStateMachine.startOfDay(now)
        return (today - Double(days - 1) * 86_400, today)
    }

    /// Every day from `since` to `today` (days without requests too, so a chart has no gaps), each
    /// with its totals per category.
    static func days(_ rows: [UsageDayRow], since: Date, today: Date) -> JSONValue {
        let byDay = Dictionary(grouping: rows, by: \.day)
        var days: [JSONValue] = []
        var day = since
        while day <= today {
            var entry = perCategory(byDay[day] ?? [])
            entry["date"] = .string(Self.day(day))
            days.append(.object(entry))
            day += 86_400
        }
        return .array(days)
    }
}
