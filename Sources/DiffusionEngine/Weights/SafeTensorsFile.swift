import Foundation
import LLMEngine
import LLMKernels

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON header naming each tensor's
/// type, shape and byte range, then the raw data. The file is mapped, not read: a tensor's bytes
/// are converted to float when a model asks for them.
public final class SafeTensorsFile: TensorSource, @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is read-only.
    public struct Entry: Sendable {
        public enum DataType: String, Sendable { case f32 = "F32", f16 = "F16", bf16 = "BF16" }
        public let type: DataType
        public let shape: [Int]
        public let range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public init(path: String) throws(DiffusionError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .malformed(path: path, reason: "shorter than its header") }
        let headerLength = Int(bytes.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 1, headerLength <= bytes.count - 8, headerLength < 100 << 20 else {
            throw .malformed(path: path, reason: "the header length \(headerLength) does not fit the file")
        }
        dataStart = 8 + headerLength
        let json = Data(bytes[8..<dataStart])
        guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw .malformed(path: path, reason: "the header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let dataCount = bytes.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                for (key, item) in value as? [String: Any] ?? [:] { metadata[key] = item as? String }
                continue
            }
            guard let fields = value as? [String: Any], let typeName = fields["dtype"] as? String,
                let shape = (fields["shape"] as? [NSNumber])?.map(\.intValue),
                let offsets = (fields["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2
            else { throw .malformed(path: path, reason: "tensor \(name) has no type, shape or offsets") }
            guard let type = Entry.DataType(rawValue: typeName) else {
                throw .unsupported("\(path): tensor \(name) is \(typeName); F32, F16 and BF16 are supported")
            }
            let count = shape.reduce(1, *)
            let width = type == .f32 ? 4 : 2
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] <= dataCount,
                offsets[1] - offsets[0] == count * width
            else { throw .malformed(path: path, reason: "tensor \(name)'s bytes do not match its shape") }
            entries[name] = Entry(type: type, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
        self.metadata = metadata
    }

    public var names: Dictionary<String, Entry>.Keys { entries.keys }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    public func tensor(_ name: String) throws(DiffusionError) -> Tensor {
        guard let entry = entries[name] else { throw .missingTensor(name) }
        let count = entry.shape.reduce(1, *)
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + entry.range.lowerBound)...])
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch entry.type {
            case .f32:
                for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                // Little-endian on every platform this runs on; the tensor data need not be aligned.
                let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: count)
                defer { halves.deallocate() }
                UnsafeMutableRawBufferPointer(halves).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[..<(2 * count)]))
                llmk_from_half(halves.baseAddress!, buffer.baseAddress!, count)
            case .bf16:
                for i in 0..<count {
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    buffer[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            }
            initialized = count
        }
        // The widened copy is what the model keeps; the file's pages would otherwise stay resident
        // beside it until the file is closed (a float16 SD 1.5 doubles its peak that way).
        file.releasePages(UnsafeRawBufferPointer(rebasing: raw[..<entry.range.count]))
        return Tensor(shape: entry.shape, values: values)
    }
}
