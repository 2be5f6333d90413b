import Foundation
import Testing
@testable import LLMEngine

/// The GGUF reader and dequantizers against llama.cpp's `gguf` Python package, whose readings are
/// in Reference/gguf-reference.json (written by scripts/reference/gguf_reference.py).
@Suite struct GGUFReferenceTests {
    // Read once, never written: safe to share between tests.
    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = Bundle.module.url(forResource: "gguf-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static var model: [String: Any] { reference["model"] as! [String: Any] }

    /// The default model, fetched by `make test` (scripts/fetch-default-model.sh).
    static let modelPath: String = ProcessInfo.processInfo.environment["VISIONCRAFT_TEST_MODEL"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    static func open() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            Issue.record("The default model is missing at \(modelPath); `make test` fetches it.")
            throw CancellationError()
        }
        return try GGUFFile(path: modelPath)
    }

    @Test func headerAndLayoutMatchTheReference() throws {
        let file = try Self.open()
        #expect(Int(file.version) == Self.model["version"] as? Int)
        #expect(file.tensors.count == Self.model["tensor_count"] as? Int)
        #expect(file.metadata.count == Self.model["kv_count"] as? Int)
        #expect(file.dataOffset == Self.model["data_offset"] as? Int)
    }

    @Test func metadataMatchesTheReference() throws {
        let file = try Self.open()
        let expected = try #require(Self.model["metadata"] as? [String: Any])
        for (key, value) in expected {
            let actual = try #require(file.metadata[key], "\(key)")
            switch value {
            case let string as String: #expect(actual.stringValue == string, "\(key)")
            case let bool as Bool where type(of: value as AnyObject) == type(of: true as AnyObject): #expect(actual.boolValue == bool, "\(key)")
            case let number as NSNumber:
                if let int = actual.intValue { #expect(int == number.intValue, "\(key)") } else {
                    #expect(Float(actual.doubleValue ?? .nan) == number.floatValue, "\(key)")
                }
            default: Issue.record("unexpected reference value for \(key)")
            }
        }
        let arrays = try #require(Self.model["arrays"] as? [String: [String: Any]])
        for (key, summary) in arrays {
            let values = try #require(file.metadata[key]?.arrayValue, "\(key)")
            #expect(values.count == summary["count"] as? Int, "\(key)")
            let first = (summary["first"] as? [Any] ?? []).map { "\($0)" }
            let last = (summary["last"] as? [Any] ?? []).map { "\($0)" }
            let describe: (GGUFValue) -> String = { $0.stringValue ?? $0.intValue.map(String.init) ?? "?" }
            #expect(values.prefix(first.count).map(describe) == first, "\(key)")
            #expect(values.suffix(last.count).map(describe) == last, "\(key)")
        }
    }

    @Test func everyTensorIsWhereTheReferenceFindsIt() throws {
        let file = try Self.open()
        let expected = try #require(Self.model["tensors"] as? [[String: Any]])
        #expect(file.tensors.count == expected.count)
        let base = Int(bitPattern: file.tensors[0].bytes.baseAddress!) - (expected[0]["offset"] as! Int)
        for (tensor, reference) in zip(file.tensors, expected) {
            #expect(tensor.name == reference["name"] as? String)
            #expect(Int(tensor.type.rawValue) == reference["type"] as? Int, "\(tensor.name)")
            #expect(tensor.dimensions == reference["dims"] as? [Int], "\(tensor.name)")
            #expect(Int(bitPattern: tensor.bytes.baseAddress!) - base == reference["offset"] as? Int, "\(tensor.name)")
        }
    }

    @Test(arguments: ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight", "blk.29.ffn_down.weight"])
    func tensorsDequantizeAsTheReferenceDoes(_ name: String) throws {
        let file = try Self.open()
        let tensor = try #require(file.tensor(named: name))
        let sample = try #require((Self.model["samples"] as? [String: [String: Any]])?[name])
        let values = tensor.floats()
        let first = try #require(sample["first"] as? [Double])
        #expect(Array(values.prefix(first.count)) == first.map { Float($0) })
        if let row = sample["row1000"] as? [Double], !row.isEmpty {
            #expect(Array(tensor.row(1000).prefix(row.count)) == row.map { Float($0) })
        }
        let sum = values.reduce(0.0) { $0 + Double($1) }
        let expectedSum = try #require(sample["sum"] as? Double)
        #expect(abs(sum - expectedSum) <= 1e-6 * max(1, abs(expectedSum)), "\(sum) vs \(expectedSum)")
    }

    @Test(arguments: ["F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K"])
    func blocksOfEveryTypeDequantizeAsTheReferenceDoes(_ typeName: String) throws {
        let blocks = try #require((Self.reference["blocks"] as? [String: [String: Any]])?[typeName])
        let type = try #require(GGMLType(rawValue: UInt32(blocks["type"] as! Int)))
        #expect(type.name == typeName)
        #expect(type.blockElements == blocks["block_elements"] as? Int)
        #expect(type.blockBytes == blocks["block_bytes"] as? Int)
        let raw = try #require(Data(base64Encoded: blocks["bytes_base64"] as! String))
        let expected = (blocks["values"] as! [Double]).map { Float($0) }
        var values = [Float](repeating: .nan, count: expected.count)
        raw.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { Dequantize.row(source, type: type, into: $0) }
        }
        for (index, (value, reference)) in zip(values, expected).enumerated() {
            #expect(abs(value - reference) <= 1e-6 * max(1, abs(reference)), "\(typeName)[\(index)]: \(value) vs \(reference)")
        }
    }

    @Test func unsupportedAndBrokenFilesAreRefusedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        func write(_ bytes: [UInt8], _ name: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
        func string(_ text: String) -> [UInt8] { le(UInt64(text.utf8.count)) + Array(text.utf8) }

        #expect(throws: GGUFError.self) { try GGUFFile(path: try write(Array("NOPE".utf8) + le(UInt32(3)), "magic.gguf")) }
        #expect(throws: GGUFError.unsupportedVersion(path: try write(Array("GGUF".utf8) + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(0)), "v1.gguf"), version: 1)) {
            try GGUFFile(path: directory.appendingPathComponent("v1.gguf").path)
        }
        // One IQ2_XXS tensor: a real ggml type this engine does not read.
        let iq2 = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(UInt64(0))
            + string("blk.0.ffn_up.weight") + le(UInt32(1)) + le(UInt64(256)) + le(UInt32(16)) + le(UInt64(0))
        let path = try write(iq2 + [UInt8](repeating: 0, count: 512), "iq2.gguf")
        #expect(throws: GGUFError.unsupportedTensorType(path: path, tensor: "blk.0.ffn_up.weight", type: "IQ2_XXS")) {
            try GGUFFile(path: path)
        }
        // A count far past the file's end.
        let truncated = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(UInt64(1)) + string("key") + le(UInt32(8)) + le(UInt64(1 << 40))
        #expect(throws: GGUFError.self) { try GGUFFile(path: try write(truncated, "truncated.gguf")) }
        #expect(throws: GGUFError.self) { try GGUFFile(path: directory.appendingPathComponent("absent.gguf").path) }
    }
}
