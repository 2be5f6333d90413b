import LLMEngine

/// A LoRA in kohya's format: per module, `lora_down.weight` [rank, in(, k, k)], `lora_up.weight`
/// [out, rank(, 1, 1)] and optionally `alpha`; the module's weight changes by
/// weight · alpha/rank · up·down. What the engine's model has no module for is reported, not
/// guessed at.
public struct LoRAFile: Sendable {
    public let path: String
    private let file: SafeTensorsFile
    let modules: [String]

    public init(path: String) throws(DiffusionError) {
        self.path = path
        file = try SafeTensorsFile(path: path)
        modules = file.entries.keys.filter { $0.hasSuffix(".lora_down.weight") }
            .map { String($0.dropLast(".lora_down.weight".count)) }.sorted()
        guard !modules.isEmpty else {
            throw .unsupported("\(path) holds no kohya-style LoRA modules (`….lora_down.weight`)")
        }
    }

    /// Adds this LoRA at `weight` to `patch`; throws when none of its modules is in the model.
    func add(to patch: inout WeightPatch, weight: Float, names: LoRANames, pool: ComputePool) throws(DiffusionError) {
        var matched = 0
        for module in modules {
            guard let layer = names.layer(forKohyaName: module) else { continue }
            let down = try file.tensor(module + ".lora_down.weight"), up = try file.tensor(module + ".lora_up.weight")
            let rank = down.shape[0]
            let depth = down.count / rank, outputs = up.shape[0]
            guard up.count == outputs * rank else {
                throw .unsupported("\(path): \(module)'s up and down matrices do not share a rank")
            }
            // A LoRA made for another architecture can name a layer this model has, at another size.
            guard outputs * depth == layer.size else {
                throw .invalidRequest("the LoRA \(path) does not fit this model: \(module) changes \(outputs * depth) weights, the layer has \(layer.size) (is it for another architecture?)")
            }
            let alpha = file.entries[module + ".alpha"] != nil ? try file.tensor(module + ".alpha").values[0] : Float(rank)
            let scale = weight * alpha / Float(rank)
            var delta = [Float](repeating: 0, count: outputs * depth)
            up.values.withUnsafeBufferPointer { up in
                down.values.withUnsafeBufferPointer { down in
                    delta.withUnsafeMutableBufferPointer { delta in
                        MatrixProduct.times(.float(up.baseAddress!), lda: rank, down.baseAddress!, ldb: depth, into: delta.baseAddress!,
                                            ldc: depth, m: outputs, n: depth, depth: rank, pool: pool)
                    }
                }
            }
            for i in delta.indices { delta[i] *= scale }
            patch.add(delta, to: layer.name)
            matched += 1
        }
        guard matched > 0 else {
            throw .invalidRequest("the LoRA \(path) has no module this model has (is it for another architecture?)")
        }
    }
}
