import LLMEngine

/// A stable-diffusion.cpp GGUF file as a tensor source: the same tensor names as the single-file
/// checkpoint, each in its own type (F32, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 …), turned into floats
/// through the chat engine's dequantization. GGUF lists dimensions innermost first; shapes here are
/// PyTorch's order.
public final class GGUFTensorSource: TensorSource, @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is read-only.
    public let file: GGUFFile
    private let byName: [String: GGUFTensor]

    public init(path: String) throws(DiffusionError) {
        do { file = try GGUFFile(path: path) } catch { throw .malformed(path: path, reason: "\(error)") }
        byName = Dictionary(file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func shape(of name: String) -> [Int]? { byName[name].map { Array($0.dimensions.reversed()) } }

    public func tensor(_ name: String) throws(DiffusionError) -> Tensor {
        guard let tensor = byName[name] else { throw .missingTensor(name) }
        let values = tensor.floats()
        // Each tensor is read once; its file pages need not stay resident beside the copy.
        file.releasePages(of: tensor)
        return Tensor(shape: Array(tensor.dimensions.reversed()), values: values)
    }

    /// String metadata, as safetensors headers carry it.
    public var metadata: [String: String] {
        file.metadata.compactMapValues { if case .string(let text) = $0 { text } else { nil } }
    }
}
