/// Why a model file cannot be used, or a request cannot be drawn.
public enum DiffusionError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(String)
    case missingTensor(String)
    case invalidRequest(String)
    case cancelled
    /// The engine's queue holds as many jobs as it may.
    case queueFull

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not a valid model file: \(reason)"
        case .unsupported(let what): what
        case .missingTensor(let name): "the model has no tensor named \(name)"
        case .invalidRequest(let what): what
        case .cancelled: "the generation was cancelled"
        case .queueFull: "the image engine's queue is full"
        }
    }
}
