/// Why a model file cannot be used, naming the file and the thing at fault.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupportedVersion(path: String, version: UInt32)
    case unsupportedTensorType(path: String, tensor: String, type: String)
    case missingMetadata(path: String, key: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "Cannot open \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not a valid GGUF file: \(reason)"
        case .unsupportedVersion(let path, let version): "\(path) is GGUF version \(version); versions 2 and 3 are supported"
        case .unsupportedTensorType(let path, let tensor, let type):
            "\(path): tensor '\(tensor)' has type \(type), which this engine does not support (F32, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K)"
        case .missingMetadata(let path, let key): "\(path) lacks the metadata key '\(key)'"
        }
    }
}
