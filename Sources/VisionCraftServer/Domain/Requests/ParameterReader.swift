/// Reads typed, range-checked parameters out of a JSON object. Every failure names the parameter,
/// so a client learns exactly what to fix.
public struct ParameterReader: Sendable {
    public let object: [String: JSONValue]

    public init(body: JSONValue) throws(APIError) {
        guard case .object(let object) = body else {
            throw APIError.invalidJSON("the body must be a JSON object")
        }
        self.object = object
    }

    /// An absent key and an explicit `null` both mean "use the default", as in OpenAI's API.
    func value(_ name: String) -> JSONValue? {
        switch object[name] {
        case .none, .some(.null): nil
        case .some(let value): value
        }
    }

    public func requiredString(_ name: String) throws(APIError) -> String {
        guard let value = value(name) else { throw APIError.missingParameter(name) }
        guard let string = value.stringValue else {
            throw APIError.invalidParameter(name, "'\(name)' must be a string.")
        }
        guard !string.isEmpty else { throw APIError.invalidParameter(name, "'\(name)' must not be empty.") }
        return string
    }

    public func string(_ name: String) throws(APIError) -> String? {
        guard let value = value(name) else { return nil }
        guard let string = value.stringValue else {
            throw APIError.invalidParameter(name, "'\(name)' must be a string.")
        }
        return string
    }

    public func bool(_ name: String, default defaultValue: Bool) throws(APIError) -> Bool {
        guard let value = value(name) else { return defaultValue }
        guard case .bool(let bool) = value else {
            throw APIError.invalidParameter(name, "'\(name)' must be true or false.")
        }
        return bool
    }

    public func int(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) throws(APIError) -> Int {
        try optionalInt(name, in: range) ?? defaultValue
    }

    public func optionalInt(_ name: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let value = value(name) else { return nil }
        guard let number = value.doubleValue else {
            throw APIError.invalidParameter(name, "'\(name)' must be an integer.")
        }
        guard let int = value.intValue else {
            throw APIError.invalidParameter(name, "'\(name)' must be an integer, got \(number).")
        }
        guard range.contains(int) else {
            throw APIError.invalidParameter(
                name, "'\(name)' must be between \(range.lowerBound) and \(range.upperBound), got \(int).")
        }
        return int
    }

    public func double(_ name: String, in range: ClosedRange<Double>, default defaultValue: Double) throws(APIError)
        -> Double
    {
        guard let value = value(name) else { return defaultValue }
        guard let number = value.doubleValue, number.isFinite else {
            throw APIError.invalidParameter(name, "'\(name)' must be a number.")
        }
        guard range.contains(number) else {
            throw APIError.invalidParameter(
                name,
                "'\(name)' must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)), got \(Self.format(number))."
            )
        }
        return number
    }

    /// A seed may be any integer a client's RNG produces; we keep it in the unsigned 64-bit range.
    public func seed(_ name: String = "seed") throws(APIError) -> UInt64? {
        guard let value = value(name) else { return nil }
        // Exact whenever the seed was written as an integer of 64 bits; a negative one counts as
        // its two's complement, as PyTorch and A1111 take it.
        if case .integer(let integer) = value { return UInt64(bitPattern: integer) }
        guard let number = value.doubleValue, number.rounded() == number, number >= -0x1p63, number < 0x1p64 else {
            throw APIError.invalidParameter(name, "'\(name)' must be an integer.")
        }
        return number < 0 ? UInt64(bitPattern: Int64(number)) : UInt64(number)
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
