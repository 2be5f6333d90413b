/// Where a LoRA's modules land in the model. kohya's files (sd-scripts, and what AUTOMATIC1111
/// and ComfyUI load) name a module by its path with `_` for `.`, behind `lora_unet_` or `lora_te_`
/// (SDXL: `lora_te1_` and `lora_te2_` for its two encoders): for the UNet most use diffusers' paths
/// (`down_blocks_0_attentions_0_…`), some CompVis's (`input_blocks_1_1_…`); the text encoders' are
/// Hugging Face's in both. This maps either to the engine's tensor names (CompVis), from the UNet's
/// own structure.
struct LoRANames {
    /// kohya's name → the layer's tensor name and how many weights it has.
    private var byKohyaName: [String: (name: String, size: Int)] = [:]

    /// `textEncoders`: each encoder, the prefix its layer names carry before their Hugging Face
    /// path, and kohya's prefix for it.
    init(unet: UNetModel, unetPrefix: String, textEncoders: [(encoder: CLIPTextEncoder, prefix: String, kohya: String)]) {
        for layer in unet.weightedLayers {
            let local = String(layer.name.dropFirst(unetPrefix.count))
            byKohyaName["lora_unet_" + Self.flatten(local)] = (layer.name, layer.weightCount)
            if let diffusers = unet.diffusersName(of: local) {
                byKohyaName["lora_unet_" + Self.flatten(diffusers)] = (layer.name, layer.weightCount)
            }
        }
        for (encoder, prefix, kohya) in textEncoders {
            for layer in encoder.weightedLayers {
                byKohyaName[kohya + Self.flatten(String(layer.name.dropFirst(prefix.count)))] = (layer.name, layer.weightCount)
            }
        }
    }

    func layer(forKohyaName name: String) -> (name: String, size: Int)? { byKohyaName[name] }

    static func flatten(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "_") }
}

/// A layer with a weight a LoRA can change: its tensor name (without `.weight`) and size.
protocol WeightedLayer {
    var name: String { get }
    var weightCount: Int { get }
}

extension Linear: WeightedLayer {
    var weightCount: Int { inputs * outputs }
}

extension Conv2D: WeightedLayer {
    var weightCount: Int { outputs * inputs * kernel * kernel }
}

extension UNetModel {
    /// Every weighted layer.
    var weightedLayers: [any WeightedLayer] {
        var layers: [any WeightedLayer] = [timeLinear1, timeLinear2, convIn, convOut]
        for layer in inputBlocks.joined() + middleBlock + outputBlocks.joined() {
            switch layer {
            case .resnet(let block):
                layers += [block.conv1, block.conv2] as [any WeightedLayer]
                if let embedding = block.embedding { layers.append(embedding) }
                if let shortcut = block.shortcut { layers.append(shortcut) }
            case .transformer(let block):
                layers += [block.projectIn, block.projectOut]
                for b in block.blocks {
                    layers += (b.attention1.layers + b.attention2.layers + [b.feedForwardIn, b.feedForwardOut]) as [any WeightedLayer]
                }
            case .downsample(let conv), .upsample(let conv):
                layers.append(conv)
            }
        }
        return layers
    }

    /// The diffusers path of a CompVis one (relative to the UNet), worked out from which blocks
    /// hold what: the level a block belongs to advances after each down- or upsampling.
    func diffusersName(of path: String) -> String? {
        let fixed = ["time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
                     "input_blocks.0.0": "conv_in", "out.2": "conv_out"]
        if let name = fixed[path] { return name }
        var prefixes: [String: String] = [:]
        var level = 0, resnets = 0, attentions = 0
        for (index, block) in inputBlocks.enumerated() {
            for (part, layer) in block.enumerated() {
                let key = "input_blocks.\(index + 1).\(part)"
                switch layer {
                case .resnet: prefixes[key] = "down_blocks.\(level).resnets.\(resnets)"; resnets += 1
                case .transformer: prefixes[key] = "down_blocks.\(level).attentions.\(attentions)"; attentions += 1
                case .downsample:
                    prefixes[key + ".op"] = "down_blocks.\(level).downsamplers.0.conv"
                    level += 1; resnets = 0; attentions = 0
                case .upsample: break
                }
            }
        }
        resnets = 0
        for (part, layer) in middleBlock.enumerated() {
            switch layer {
            case .resnet: prefixes["middle_block.\(part)"] = "mid_block.resnets.\(resnets)"; resnets += 1
            case .transformer: prefixes["middle_block.\(part)"] = "mid_block.attentions.0"
            default: break
            }
        }
        level = 0; resnets = 0; attentions = 0
        for (index, block) in outputBlocks.enumerated() {
            for (part, layer) in block.enumerated() {
                let key = "output_blocks.\(index).\(part)"
                switch layer {
                case .resnet: prefixes[key] = "up_blocks.\(level).resnets.\(resnets)"; resnets += 1
                case .transformer: prefixes[key] = "up_blocks.\(level).attentions.\(attentions)"; attentions += 1
                case .upsample:
                    prefixes[key + ".conv"] = "up_blocks.\(level).upsamplers.0.conv"
                    level += 1; resnets = 0; attentions = 0
                case .downsample: break
                }
            }
        }
        // The longest CompVis prefix the path starts with, then the resnet's inner names.
        let parts = path.split(separator: ".")
        for length in stride(from: parts.count, through: 1, by: -1) {
            let prefix = parts.prefix(length).joined(separator: ".")
            guard let replacement = prefixes[prefix] else { continue }
            var rest = parts.dropFirst(length).joined(separator: ".")
            let inner = ["in_layers.2": "conv1", "out_layers.3": "conv2", "emb_layers.1": "time_emb_proj",
                         "skip_connection": "conv_shortcut"]
            if let renamed = inner[rest] { rest = renamed }
            return rest.isEmpty ? replacement : replacement + "." + rest
        }
        return nil
    }
}

extension CLIPTextEncoder {
    var weightedLayers: [any WeightedLayer] {
        layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.up, $0.down] as [any WeightedLayer] }
    }
}
