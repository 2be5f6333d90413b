/// Additions to some of a model's weight matrices, by the layers' tensor names (without
/// `.weight`): what LoRAs change. Applying one to a model gives a copy in which only the touched
/// layers' weights are new arrays; the rest stay shared with the original, which is unchanged — so
/// jobs with different LoRAs never see each other's.
public struct WeightPatch: Sendable {
    var deltas: [String: [Float]] = [:]

    public var isEmpty: Bool { deltas.isEmpty }
    public var layerNames: Dictionary<String, [Float]>.Keys { deltas.keys }

    mutating func add(_ delta: [Float], to name: String) {
        if let existing = deltas[name] {
            deltas[name] = zip(existing, delta).map(+)
        } else {
            deltas[name] = delta
        }
    }
}

/// A layer or a network of them that a patch can change.
protocol Patchable {
    func patched(_ patch: WeightPatch) -> Self
}

extension Linear: Patchable {
    func patched(_ patch: WeightPatch) -> Linear {
        guard let delta = patch.deltas[name] else { return self }
        var copy = self
        copy.weight = weight.adding(delta)
        return copy
    }
}

extension Conv2D: Patchable {
    func patched(_ patch: WeightPatch) -> Conv2D {
        guard let delta = patch.deltas[name] else { return self }
        var copy = self
        copy.weight = weight.adding(delta)
        return copy
    }
}

extension ResBlock: Patchable {
    func patched(_ patch: WeightPatch) -> ResBlock {
        var copy = self
        copy.conv1 = conv1.patched(patch)
        copy.embedding = embedding?.patched(patch)
        copy.conv2 = conv2.patched(patch)
        copy.shortcut = shortcut?.patched(patch)
        return copy
    }
}

extension TransformerBlock: Patchable {
    func patched(_ patch: WeightPatch) -> Self {
        var copy = self
        copy.attention1 = attention1.patched(patch)
        copy.attention2 = attention2.patched(patch)
        copy.feedForwardIn = feedForwardIn.patched(patch)
        copy.feedForwardOut = feedForwardOut.patched(patch)
        return copy
    }
}

extension SpatialTransformer: Patchable {
    func patched(_ patch: WeightPatch) -> SpatialTransformer {
        var copy = self
        copy.projectIn = projectIn.patched(patch)
        copy.blocks = blocks.map { $0.patched(patch) }
        copy.projectOut = projectOut.patched(patch)
        return copy
    }
}

extension UNetModel.Layer: Patchable {
    func patched(_ patch: WeightPatch) -> Self {
        switch self {
        case .resnet(let block): .resnet(block.patched(patch))
        case .transformer(let block): .transformer(block.patched(patch))
        case .downsample(let conv): .downsample(conv.patched(patch))
        case .upsample(let conv): .upsample(conv.patched(patch))
        }
    }
}

extension UNetModel: Patchable {
    func patched(_ patch: WeightPatch) -> UNetModel {
        var copy = self
        copy.timeLinear1 = timeLinear1.patched(patch)
        copy.timeLinear2 = timeLinear2.patched(patch)
        copy.convIn = convIn.patched(patch)
        copy.inputBlocks = inputBlocks.map { $0.map { $0.patched(patch) } }
        copy.middleBlock = middleBlock.map { $0.patched(patch) }
        copy.outputBlocks = outputBlocks.map { $0.map { $0.patched(patch) } }
        copy.convOut = convOut.patched(patch)
        return copy
    }
}

extension CLIPTextEncoder.Layer: Patchable {
    func patched(_ patch: WeightPatch) -> Self {
        var copy = self
        copy.query = query.patched(patch)
        copy.key = key.patched(patch)
        copy.value = value.patched(patch)
        copy.output = output.patched(patch)
        copy.up = up.patched(patch)
        copy.down = down.patched(patch)
        return copy
    }
}

extension CLIPTextEncoder: Patchable {
    func patched(_ patch: WeightPatch) -> CLIPTextEncoder {
        var copy = self
        copy.layers = layers.map { $0.patched(patch) }
        return copy
    }
}
