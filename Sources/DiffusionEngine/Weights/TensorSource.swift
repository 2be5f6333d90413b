/// Named float tensors, from one file or several (a diffusers folder), under the names of
/// AUTOMATIC1111's single-file layout.
public protocol TensorSource: Sendable {
    func shape(of name: String) -> [Int]?
    func tensor(_ name: String) throws(DiffusionError) -> Tensor
}

/// A source's tensors under one prefix: `weights["conv1.weight"]` reads `prefix + "conv1.weight"`.
public struct Weights: Sendable {
    public let source: any TensorSource
    public let prefix: String
    /// What the layers built from these weights keep their matrices in.
    public let precision: Precision

    public init(_ source: any TensorSource, prefix: String = "", precision: Precision = .float32) {
        self.source = source
        self.prefix = prefix
        self.precision = precision
    }

    public func scoped(_ name: String) -> Weights { Weights(source, prefix: prefix + name + ".", precision: precision) }

    public func has(_ name: String) -> Bool { source.shape(of: prefix + name) != nil }

    public func shape(_ name: String) -> [Int]? { source.shape(of: prefix + name) }

    public func tensor(_ name: String) throws(DiffusionError) -> Tensor { try source.tensor(prefix + name) }
}
