/// Floats with a shape, row-major: what a model file holds and what layers exchange.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "a tensor's values must fill its shape")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { values.count }

    /// A matrix's transpose (rows × columns → columns × rows).
    public func transposed() -> Tensor {
        precondition(shape.count == 2, "only a matrix is transposed")
        let (rows, columns) = (shape[0], shape[1])
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows {
            for c in 0..<columns { out[c * rows + r] = values[r * columns + c] }
        }
        return Tensor(shape: [columns, rows], values: out)
    }
}

/// One image's activations between convolutions: `channels` planes of `height × width`.
public struct FeatureMap: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var values: [Float]

    public init(channels: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == channels * height * width, "a feature map's values must fill it")
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    public init(channels: Int, height: Int, width: Int) {
        self.init(channels: channels, height: height, width: width,
                  values: [Float](repeating: 0, count: channels * height * width))
    }

    public var pixels: Int { height * width }

    /// `self` followed by `other`'s channels (a UNet joins its skip connections this way).
    public func appendingChannels(of other: FeatureMap) -> FeatureMap {
        precondition(other.height == height && other.width == width, "joined maps must be the same size")
        return FeatureMap(channels: channels + other.channels, height: height, width: width, values: values + other.values)
    }

    public static func + (lhs: FeatureMap, rhs: FeatureMap) -> FeatureMap {
        var sum = lhs
        sum.add(rhs)
        return sum
    }

    public mutating func add(_ other: FeatureMap) {
        precondition(other.values.count == values.count, "added maps must be the same size")
        values.withUnsafeMutableBufferPointer { out in
            other.values.withUnsafeBufferPointer { input in
                for i in 0..<out.count { out[i] += input[i] }
            }
        }
    }
}

extension FeatureMap {
    /// `body` with the start of every map's values at once (for kernels that read several frames).
    static func withBaseAddresses<R>(_ maps: [FeatureMap], _ body: (UnsafePointer<UnsafePointer<Float>?>) -> R) -> R {
        var addresses: [UnsafePointer<Float>?] = []
        addresses.reserveCapacity(maps.count)
        func collect(_ index: Int) -> R {
            guard index < maps.count else { return addresses.withUnsafeBufferPointer { body($0.baseAddress!) } }
            return maps[index].values.withUnsafeBufferPointer { values in
                addresses.append(values.baseAddress!)
                return collect(index + 1)
            }
        }
        return collect(0)
    }
}
