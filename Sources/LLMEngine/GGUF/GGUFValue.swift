/// One metadata value of a GGUF file, typed as the file stores it.
public enum GGUFValue: Equatable, Sendable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    public var intValue: Int? {
        switch self {
        case .uint(let value): Int(exactly: value)
        case .int(let value): Int(exactly: value)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .float(let value): value
        case .uint(let value): Double(value)
        case .int(let value): Double(value)
        default: nil
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// How many elements the array has, without reading them.
    public var arrayCount: Int? {
        if case .array(let value) = self { return value.count }
        return nil
    }

    /// The array's elements, read from the file now: vocabularies hold hundreds of thousands,
    /// which are not kept as values once whoever needs them has built what it keeps.
    public var arrayValue: [GGUFValue]? {
        if case .array(let value) = self { return value.elements }
        return nil
    }
}

/// A metadata array, where it lies in the mapped file: checked when the file is opened, its
/// elements read when asked for (Gemma 3's vocabulary as values took 27 MB for as long as the
/// model was loaded).
public struct GGUFArray: Equatable, Sendable {
    let file: MappedFile
    /// Where the first element starts, how many there are and their GGUF type.
    let offset: Int
    public let count: Int
    let elementType: UInt32

    public var elements: [GGUFValue] {
        var cursor = GGUFCursor(bytes: file.bytes, path: file.path, offset: offset)
        // Checked when the file was opened: reading them again cannot fail.
        return (0..<count).map { _ in try! cursor.value(ofType: elementType) }
    }

    public static func == (lhs: GGUFArray, rhs: GGUFArray) -> Bool { lhs.elements == rhs.elements }
}
