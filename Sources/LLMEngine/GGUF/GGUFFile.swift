/// A GGUF model file: its metadata and where each tensor's bytes are, read in place from a
/// memory mapping. Layout (v2/v3): magic, version, tensor and metadata counts, metadata key/values,
/// tensor descriptions, padding to the alignment, then the tensor data.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// In file order.
    public let tensors: [GGUFTensor]
    /// Where tensor data begins in the file.
    public let dataOffset: Int
    private let file: MappedFile
    private let tensorIndex: [String: Int]

    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws(GGUFError) {
        self.file = file
        path = file.path
        var reader = GGUFCursor(bytes: file.bytes, path: file.path)
        guard try reader.read(UInt32.self) == 0x4655_4747 else {  // "GGUF", little-endian
            throw GGUFError.malformed(path: path, reason: "it does not start with 'GGUF'")
        }
        version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
        let tensorCount = try reader.count()
        let metadataCount = try reader.count()

        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.string()
            metadata[key] = try reader.value(ofType: reader.read(UInt32.self), in: file)
        }
        self.metadata = metadata

        var descriptions: [(name: String, dims: [Int], type: UInt32, offset: Int)] = []
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let dimensionCount = try reader.read(UInt32.self)
            guard dimensionCount <= 4 else {
                throw GGUFError.malformed(path: path, reason: "tensor '\(name)' has \(dimensionCount) dimensions")
            }
            let dims = try (0..<dimensionCount).map { _ throws(GGUFError) in try reader.count() }
            let type = try reader.read(UInt32.self)
            let offset = try reader.count()
            descriptions.append((name, dims, type, offset))
        }

        let alignment = metadata["general.alignment"]?.intValue ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError.malformed(path: path, reason: "general.alignment \(alignment) is not a power of two")
        }
        dataOffset = (reader.offset + alignment - 1) / alignment * alignment

        var tensors: [GGUFTensor] = []
        for description in descriptions {
            guard let type = GGMLType(rawValue: description.type) else {
                throw GGUFError.unsupportedTensorType(
                    path: path, tensor: description.name, type: GGMLType.ggmlName(of: description.type))
            }
            let elements = description.dims.reduce(1, *)
            guard let firstDimension = description.dims.first, type.rowBytes(elements: firstDimension) != nil else {
                throw GGUFError.malformed(path: path, reason: "tensor '\(description.name)' rows do not fill whole \(type.name) blocks")
            }
            let byteCount = elements / type.blockElements * type.blockBytes
            let start = dataOffset + description.offset
            guard description.offset % alignment == 0, start + byteCount <= file.bytes.count else {
                throw GGUFError.malformed(path: path, reason: "tensor '\(description.name)' lies outside the file")
            }
            tensors.append(GGUFTensor(
                name: description.name, type: type, dimensions: description.dims,
                bytes: UnsafeRawBufferPointer(rebasing: file.bytes[start..<start + byteCount])))
        }
        self.tensors = tensors
        tensorIndex = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Tells the system the pages under `tensor` are not needed for now: they leave this process's
    /// resident memory and are read from the file again if touched.
    public func releasePages(of tensor: GGUFTensor) {
        file.releasePages(tensor.bytes)
    }

    /// The same for part of the file (the whole pages inside `bytes`).
    public func releasePages(_ bytes: UnsafeRawBufferPointer) {
        file.releasePages(bytes)
    }

    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    public func requiredTensor(named name: String) throws(GGUFError) -> GGUFTensor {
        guard let tensor = tensor(named: name) else {
            throw GGUFError.malformed(path: path, reason: "tensor '\(name)' is missing")
        }
        return tensor
    }

    public func required(_ key: String) throws(GGUFError) -> GGUFValue {
        guard let value = metadata[key] else { throw GGUFError.missingMetadata(path: path, key: key) }
        return value
    }
}

/// One tensor: ggml's dimension order (the first dimension is the row length, contiguous in
/// memory) and its bytes inside the mapped file.
public struct GGUFTensor: @unchecked Sendable {
    // @unchecked: `bytes` points into a read-only mapping owned by the GGUFFile.
    public let name: String
    public let type: GGMLType
    public let dimensions: [Int]
    public let bytes: UnsafeRawBufferPointer

    public var elementCount: Int { dimensions.reduce(1, *) }
    public var rowLength: Int { dimensions[0] }
    public var rowCount: Int { elementCount / rowLength }
    public var rowBytes: Int { type.rowBytes(elements: rowLength)! }

    /// Rows `rows` alone, as a tensor of their own (a part of a fused matrix, such as Phi-3's
    /// Q, K and V in one).
    public func rows(_ rows: Range<Int>, name: String) -> GGUFTensor {
        GGUFTensor(name: name, type: type, dimensions: [rowLength, rows.count],
                   bytes: UnsafeRawBufferPointer(rebasing: bytes[rows.lowerBound * rowBytes..<rows.upperBound * rowBytes]))
    }

    /// Row `index` as floats.
    public func row(_ index: Int) -> [Float] {
        var output = [Float](repeating: 0, count: rowLength)
        output.withUnsafeMutableBufferPointer { destination in
            Dequantize.row(UnsafeRawBufferPointer(rebasing: bytes[index * rowBytes..<(index + 1) * rowBytes]),
                           type: type, into: destination)
        }
        return output
    }

    /// The whole tensor as floats, for small tensors (norm weights) and tests.
    public func floats() -> [Float] {
        var output = [Float](repeating: 0, count: elementCount)
        output.withUnsafeMutableBufferPointer { destination in
            Dequantize.row(bytes, type: type, into: destination)
        }
        return output
    }
}

/// Reads little-endian GGUF fields with bounds checks: a truncated or hostile file is an error,
/// never an out-of-bounds read.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.offset = offset
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw GGUFError.malformed(path: path, reason: "it ends early") }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    /// A 64-bit count or size that must also fit what is left of the file.
    mutating func count() throws(GGUFError) -> Int {
        let value = try read(UInt64.self)
        guard value <= UInt64(bytes.count) * 8 else {
            throw GGUFError.malformed(path: path, reason: "a count of \(value) cannot be right")
        }
        return Int(value)
    }

    mutating func string() throws(GGUFError) -> String {
        let length = try count()
        guard offset + length <= bytes.count else { throw GGUFError.malformed(path: path, reason: "it ends early") }
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
        offset += length
        return string
    }

    /// A value of `type`; an array's elements are checked and skipped, and read when asked for
    /// (`GGUFArray`), from `file`: the mapping `bytes` lies in.
    mutating func value(ofType type: UInt32, in file: MappedFile? = nil) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try read(UInt8.self)))
        case 1: return .int(Int64(try read(Int8.self)))
        case 2: return .uint(UInt64(try read(UInt16.self)))
        case 3: return .int(Int64(try read(Int16.self)))
        case 4: return .uint(UInt64(try read(UInt32.self)))
        case 5: return .int(Int64(try read(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try read(UInt32.self))))
        case 7: return .bool(try read(UInt8.self) != 0)
        case 8: return .string(try string())
        case 9:
            let elementType = try read(UInt32.self)
            guard elementType != 9 else { throw GGUFError.malformed(path: path, reason: "nested metadata arrays") }
            let count = try count(), start = offset
            let sizes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
            if let size = sizes[elementType] {
                guard count <= (bytes.count - offset) / size else {
                    throw GGUFError.malformed(path: path, reason: "it ends early")
                }
                offset += count * size
            } else {
                for _ in 0..<count { _ = try value(ofType: elementType) }
            }
            guard let file else { throw GGUFError.malformed(path: path, reason: "a metadata array outside a file") }
            return .array(GGUFArray(file: file, offset: start, count: count, elementType: elementType))
        case 10: return .uint(try read(UInt64.self))
        case 11: return .int(try read(Int64.self))
        case 12: return .float(Double(bitPattern: try read(UInt64.self)))
        default: throw GGUFError.malformed(path: path, reason: "unknown metadata value type \(type)")
        }
    }
}
