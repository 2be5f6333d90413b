import Foundation

/// An AnimateDiff motion module file (`.safetensors`): the temporal transformers AnimateDiff puts
/// after each of the UNet's down and up blocks (and, from v2 on, inside the middle block), read in
/// the original layout (`…motion_modules.N.temporal_transformer.…attention_blocks.0…`: guoyww's
/// releases, AnimateLCM, AnimateDiff-Lightning's ComfyUI files) or diffusers' (`…motion_modules.N.
/// transformer_blocks.0.attn1…`), and placed by the UNet's own structure.
public struct MotionModule: Sendable {
    /// By index into the UNet's input and output blocks.
    var input: [Int: TemporalTransformer]
    var middle: TemporalTransformer?
    var output: [Int: TemporalTransformer]
    /// The longest run of frames its position tables cover (what it was trained on): the file's
    /// own tables where it has them, else 32 (diffusers' default).
    public let trainedFrames: Int

    public init(path: String, for unet: UNetModel, precision: Precision = .float32) throws(DiffusionError) {
        let names = try MotionModuleNames(file: SafeTensorsFile(path: path))
        let weights = Weights(names, precision: precision)
        func module(_ compVis: String) throws(DiffusionError) -> TemporalTransformer? {
            guard let name = unet.diffusersName(of: compVis), name.contains(".resnets.") else { return nil }
            let prefix = name.replacingOccurrences(of: ".resnets.", with: ".motion_modules.")
            guard weights.has(prefix + ".norm.weight") else { return nil }
            return try TemporalTransformer(weights.scoped(prefix))
        }
        var input: [Int: TemporalTransformer] = [:], output: [Int: TemporalTransformer] = [:]
        for (index, block) in unet.inputBlocks.enumerated() {
            guard case .resnet(let resnet) = block.first, let found = try module("input_blocks.\(index + 1).0") else { continue }
            guard found.channels == resnet.conv2.outputs else { throw Self.misfit(path) }
            input[index] = found
        }
        for (index, block) in unet.outputBlocks.enumerated() {
            guard case .resnet(let resnet) = block.first, let found = try module("output_blocks.\(index).0") else { continue }
            guard found.channels == resnet.conv2.outputs else { throw Self.misfit(path) }
            output[index] = found
        }
        middle = weights.has("mid_block.motion_modules.0.norm.weight")
            ? try TemporalTransformer(weights.scoped("mid_block.motion_modules.0")) : nil
        guard !input.isEmpty, !output.isEmpty, names.moduleCount == input.count + output.count + (middle == nil ? 0 : 1) else {
            throw Self.misfit(path)
        }
        self.input = input
        self.output = output
        trainedFrames = names.trainedFrames ?? 32
    }

    static func misfit(_ path: String) -> DiffusionError {
        .unsupported("\(path): its motion modules do not fit this checkpoint's UNet (AnimateDiff modules are for SD 1.x)")
    }
}

/// A motion module file's tensors under diffusers' names, whichever layout it was saved in.
struct MotionModuleNames: TensorSource {
    let file: SafeTensorsFile
    private let names: [String: String]
    /// How many modules (distinct `…motion_modules.N` prefixes) the file holds.
    let moduleCount: Int
    let trainedFrames: Int?

    init(file: SafeTensorsFile) throws(DiffusionError) {
        self.file = file
        var names: [String: String] = [:], modules: Set<String> = [], frames: Int?
        for name in file.entries.keys {
            guard let range = name.range(of: ".motion_modules.") else { continue }
            let index = name[range.upperBound...].prefix { $0.isNumber }
            modules.insert(String(name[..<range.upperBound]) + index)
            if name.hasSuffix("pos_encoder.pe") || name.hasSuffix("pos_embed.pe") {
                frames = file.shape(of: name).flatMap { $0.count == 3 ? $0[1] : nil }
                continue
            }
            names[Self.diffusersName(name)] = name
        }
        guard !names.isEmpty else { throw .unsupported("\(file.path) holds no AnimateDiff motion modules (`…motion_modules.…`)") }
        self.names = names
        moduleCount = modules.count
        trainedFrames = frames
    }

    /// diffusers' converter's renaming of the original layout (a diffusers name stays as it is).
    static func diffusersName(_ name: String) -> String {
        name.replacingOccurrences(of: ".norms.0", with: ".norm1").replacingOccurrences(of: ".norms.1", with: ".norm2")
            .replacingOccurrences(of: ".ff_norm", with: ".norm3")
            .replacingOccurrences(of: ".attention_blocks.0", with: ".attn1")
            .replacingOccurrences(of: ".attention_blocks.1", with: ".attn2")
            .replacingOccurrences(of: ".temporal_transformer", with: "")
    }

    func shape(of name: String) -> [Int]? { names[name].flatMap { file.shape(of: $0) } }

    func tensor(_ name: String) throws(DiffusionError) -> Tensor {
        guard let stored = names[name] else { throw .missingTensor(name) }
        return try file.tensor(stored)
    }
}
