import Foundation

/// A diffusers model folder (`save_pretrained`'s layout: `unet/`, `vae/`, `text_encoder/`, each a
/// `.safetensors` file and a `config.json`; `scheduler/scheduler_config.json`) read under
/// AUTOMATIC1111's single-file names, so the rest of the engine sees one checkpoint. Each diffusers
/// name is renamed as diffusers' own single-file converters would have named it the other way.
/// SD 1.x and SD 2.x folders (an SD 2.x folder's text encoder is transformers' CLIP with GELU,
/// saved without its last layer, which SD 2.x never reads; `visioncraft.text_encoder` says so), and
/// SDXL folders, whose second text encoder (`text_encoder_2`, with its projection) keeps
/// transformers' layout under `conditioner.embedders.1.transformer.`.
public struct DiffusersFolder: TensorSource {
    private let files: [SafeTensorsFile]
    /// Single-file name → (file, name in that file).
    private let names: [String: (file: Int, name: String)]
    /// What the folder's configs say that the tensors cannot, as single-file metadata would say it.
    public let metadata: [String: String]

    public static func isFolder(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("model_index.json"))
    }

    public init(path: String) throws(DiffusionError) {
        func file(_ part: String) throws(DiffusionError) -> SafeTensorsFile {
            let directory = (path as NSString).appendingPathComponent(part)
            for name in ["diffusion_pytorch_model.safetensors", "model.safetensors"] {
                let candidate = (directory as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: candidate) { return try SafeTensorsFile(path: candidate) }
            }
            throw .unsupported("\(path): no \(part)/diffusion_pytorch_model.safetensors or \(part)/model.safetensors (a .bin is never unpickled; convert it to .safetensors)")
        }
        // SD 2.x's OpenCLIP text tower is saved as transformers' CLIP with GELU.
        let textConfig = Self.json((path as NSString).appendingPathComponent("text_encoder/config.json"))
        let activation = textConfig?["hidden_act"] as? String ?? "quick_gelu"
        guard ["quick_gelu", "gelu"].contains(activation) else {
            throw .unsupported("\(path): a text encoder with \(activation) is not a Stable Diffusion 1.x or 2.x one")
        }
        let sdxl = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("text_encoder_2"))
        files = [try file("unet"), try file("vae"), try file("text_encoder")] + (sdxl ? [try file("text_encoder_2")] : [])
        var names: [String: (file: Int, name: String)] = [:]
        let unetNames = Array(files[0].entries.keys), vaeNames = Array(files[1].entries.keys)
        let layers = Set(unetNames.compactMap { Self.index(after: "down_blocks.0.resnets.", in: $0) }).count
        let attentionLevels = Set(unetNames.compactMap { name in
            Self.index(after: "up_blocks.", in: name).flatMap { name.hasPrefix("up_blocks.\($0).attentions.") ? $0 : nil }
        })
        for name in unetNames {
            if let renamed = Self.unetName(name, layers: layers, attentionLevels: attentionLevels) {
                names["model.diffusion_model." + renamed] = (0, name)
            }
        }
        let upLevels = Set(vaeNames.compactMap { Self.index(after: "decoder.up_blocks.", in: $0) }).count
        for name in vaeNames {
            if let renamed = Self.vaeName(name, levels: upLevels) { names["first_stage_model." + renamed] = (1, name) }
        }
        let textPrefixes = sdxl ? ["conditioner.embedders.0.transformer.", "conditioner.embedders.1.transformer."]
            : ["cond_stage_model.transformer."]
        for (offset, prefix) in textPrefixes.enumerated() {
            for name in files[2 + offset].entries.keys where !name.hasSuffix("position_ids") {
                let inModel = name.hasPrefix("text_model.") || name.hasPrefix("text_projection.") ? name : "text_model." + name
                names[prefix + inModel] = (2 + offset, name)
            }
        }
        self.names = names

        var metadata: [String: String] = [:]
        if activation == "gelu" { metadata["visioncraft.text_encoder"] = "openclip-penultimate" }
        let scheduler = Self.json((path as NSString).appendingPathComponent("scheduler/scheduler_config.json"))
        if let prediction = scheduler?["prediction_type"] as? String {
            metadata["visioncraft.prediction"] = (prediction == "v_prediction" ? StableDiffusionModel.Prediction.velocity : .epsilon).rawValue
        }
        // diffusers' `attention_head_dim` is the number of heads (a known misnomer): one for every
        // level, or one per level (SD 2.x, SDXL), which gives the heads' width.
        let unetConfig = Self.json((path as NSString).appendingPathComponent("unet/config.json"))
        if let heads = unetConfig?["attention_head_dim"] as? Int {
            metadata["visioncraft.attention_heads"] = String(heads)
        } else if let heads = unetConfig?["attention_head_dim"] as? [Int], let widths = unetConfig?["block_out_channels"] as? [Int],
            heads.count == widths.count, let first = heads.first, first > 0,
            zip(heads, widths).allSatisfy({ $0 > 0 && $1 == widths[0] / first * $0 }) {
            metadata["visioncraft.attention_head_width"] = String(widths[0] / first)
        }
        self.metadata = metadata
    }

    public func shape(of name: String) -> [Int]? {
        names[name].flatMap { files[$0.file].shape(of: $0.name) }
    }

    public func tensor(_ name: String) throws(DiffusionError) -> Tensor {
        guard let entry = names[name] else { throw .missingTensor(name) }
        return try files[entry.file].tensor(entry.name)
    }

    private static func json(_ path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The number after `prefix` in `name` (`down_blocks.` → 2 in `down_blocks.2.resnets…`).
    static func index(after prefix: String, in name: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    private static let resnetNames = [
        "norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
        "conv2": "out_layers.3", "conv_shortcut": "skip_connection",
    ]

    /// A UNet tensor's CompVis name (under `model.diffusion_model.`), for a UNet of `layers`
    /// resnets per down level whose up levels in `attentionLevels` have attention.
    static func unetName(_ name: String, layers: Int, attentionLevels: Set<Int>) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        func resnet(_ rest: ArraySlice<String>) -> String? {
            guard let first = rest.first, let renamed = resnetNames[first] else { return nil }
            return ([renamed] + rest.dropFirst()).joined(separator: ".")
        }
        switch parts[0] {
        case "time_embedding": return (parts[1] == "linear_1" ? "time_embed.0." : "time_embed.2.") + parts[2]
        case "add_embedding": return (parts[1] == "linear_1" ? "label_emb.0.0." : "label_emb.0.2.") + parts[2]
        case "conv_in": return "input_blocks.0.0." + parts[1]
        case "conv_norm_out": return "out.0." + parts[1]
        case "conv_out": return "out.2." + parts[1]
        case "down_blocks", "up_blocks":
            guard parts.count > 4, let level = Int(parts[1]), let j = Int(parts[3]) else { return nil }
            let down = parts[0] == "down_blocks"
            switch parts[2] {
            case "resnets", "attentions":
                let block = down ? level * (layers + 1) + j + 1 : level * (layers + 1) + j
                let prefix = "\(down ? "input_blocks" : "output_blocks").\(block)."
                if parts[2] == "attentions" { return prefix + "1." + parts[4...].joined(separator: ".") }
                return resnet(parts[4...]).map { prefix + "0." + $0 }
            case "downsamplers": return "input_blocks.\((level + 1) * (layers + 1)).0.op." + parts[5...].joined(separator: ".")
            case "upsamplers":
                let index = attentionLevels.contains(level) ? 2 : 1
                return "output_blocks.\(level * (layers + 1) + layers).\(index).conv." + parts[5...].joined(separator: ".")
            default: return nil
            }
        case "mid_block":
            guard parts.count > 3, let j = Int(parts[2]) else { return nil }
            if parts[1] == "attentions" { return "middle_block.1." + parts[3...].joined(separator: ".") }
            return resnet(parts[3...]).map { "middle_block.\(j == 0 ? 0 : 2)." + $0 }
        default: return nil
        }
    }

    /// A VAE tensor's CompVis name (under `first_stage_model.`): the decoder's and the
    /// post-quantisation convolution's, which is all the engine reads.
    static func vaeName(_ name: String, levels: Int) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        if parts[0] == "post_quant_conv" { return name }
        guard parts[0] == "decoder", parts.count > 2 else { return nil }
        func resnet(_ rest: ArraySlice<String>) -> String {
            rest.map { $0 == "conv_shortcut" ? "nin_shortcut" : $0 }.joined(separator: ".")
        }
        switch parts[1] {
        case "conv_in", "conv_out": return name
        case "conv_norm_out": return "decoder.norm_out." + parts[2]
        case "mid_block":
            guard parts.count > 4, let j = Int(parts[3]) else { return nil }
            if parts[2] == "resnets" { return "decoder.mid.block_\(j + 1)." + resnet(parts[4...]) }
            let renamed = ["group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"][parts[4]]
            guard let renamed else { return nil }
            return "decoder.mid.attn_1.\(renamed)." + parts.last!
        case "up_blocks":
            guard parts.count > 5, let level = Int(parts[2]) else { return nil }
            let block = levels - 1 - level
            if parts[3] == "resnets" { return "decoder.up.\(block).block.\(parts[4])." + resnet(parts[5...]) }
            if parts[3] == "upsamplers" { return "decoder.up.\(block).upsample.conv." + parts.last! }
            return nil
        default: return nil
        }
    }
}
