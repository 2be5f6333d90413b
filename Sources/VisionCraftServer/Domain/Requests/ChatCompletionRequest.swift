/// A validated `/v1/chat/completions` request, with every default of the contract applied; or a
/// `/v1/completions` one, which gives a `prompt` for the model to continue instead of `messages`
/// (and takes the same sampling parameters, limits and usage).
public struct ChatCompletionRequest: Sendable, Equatable {
    public var model: String
    public var messages: [ChatMessage]
    /// The completions API's text, continued as it is (no chat template); nil for chat.
    public var prompt: String?
    public var maxTokens: Int
    public var temperature: Double
    public var topP: Double
    public var topK: Int
    public var repetitionPenalty: Double
    public var presencePenalty: Double
    public var frequencyPenalty: Double
    public var stream: Bool
    public var includeUsageInStream: Bool
    public var stop: [String]
    public var seed: UInt64?

    public static let maxTokensRange = 128...100_000
    public static let temperatureRange = 0.0...100.0
    public static let topPRange = 0.0...1.0
    public static let topKRange = 0...99_999
    public static let repetitionPenaltyRange = 0.01...5.0
    public static let penaltyRange = -2.0...2.0
    static let maxStopSequences = 4

    public var hasImages: Bool { messages.contains { $0.hasImages } }

    public init(
        model: String, messages: [ChatMessage], maxTokens: Int = 512, temperature: Double = 0.7, topP: Double = 0.9,
        topK: Int = 0, repetitionPenalty: Double = 1, presencePenalty: Double = 0, frequencyPenalty: Double = 0,
        stream: Bool = false, includeUsageInStream: Bool = false, stop: [String] = [], seed: UInt64? = nil
    ) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.stream = stream
        self.includeUsageInStream = includeUsageInStream
        self.stop = stop
        self.seed = seed
    }

    public init(json body: JSONValue) throws(APIError) {
        let reader = try ParameterReader(body: body)
        self.init(model: try reader.requiredString("model"), messages: try ChatMessage.parseList(reader.value("messages")))
        try readSampling(reader)
    }

    /// A `/v1/completions` request: `prompt` (a string, or a list of one string) in place of the
    /// conversation. What would change the answer's shape (`echo`, `suffix`, several prompts) is
    /// refused rather than ignored.
    public init(completionJSON body: JSONValue) throws(APIError) {
        let reader = try ParameterReader(body: body)
        self.init(model: try reader.requiredString("model"), messages: [])
        prompt = try Self.parsePrompt(reader.value("prompt"))
        if try reader.bool("echo", default: false) {
            throw APIError.invalidParameter("echo", "'echo' is not supported; the answer holds the continuation only.")
        }
        if let suffix = try reader.string("suffix"), !suffix.isEmpty {
            throw APIError.invalidParameter("suffix", "'suffix' (fill-in-the-middle) is not supported.")
        }
        try readSampling(reader)
    }

    static func parsePrompt(_ value: JSONValue?) throws(APIError) -> String {
        switch value {
        case .none: throw APIError.missingParameter("prompt")
        case .string(let text)?: return text
        case .array(let items)? where items.count == 1:
            guard let text = items[0].stringValue else {
                throw APIError.invalidParameter("prompt", "'prompt' must be a string (token lists are not supported).")
            }
            return text
        case .array?: throw APIError.invalidParameter("prompt", "'prompt' must be one string; send one request per prompt.")
        default: throw APIError.invalidParameter("prompt", "'prompt' must be a string.")
        }
    }

    /// Everything but the input, alike for chat and completions.
    private mutating func readSampling(_ reader: ParameterReader) throws(APIError) {
        // Newer OpenAI SDKs send `max_completion_tokens`; it means the same here.
        let maxTokensName = reader.value("max_tokens") == nil && reader.value("max_completion_tokens") != nil
            ? "max_completion_tokens" : "max_tokens"
        maxTokens = try reader.int(maxTokensName, in: Self.maxTokensRange, default: 512)
        temperature = try reader.double("temperature", in: Self.temperatureRange, default: 0.7)
        topP = try reader.double("top_p", in: Self.topPRange, default: 0.9)
        topK = try reader.int("top_k", in: Self.topKRange, default: 0)
        repetitionPenalty = try reader.double("repetition_penalty", in: Self.repetitionPenaltyRange, default: 1)
        presencePenalty = try reader.double("presence_penalty", in: Self.penaltyRange, default: 0)
        frequencyPenalty = try reader.double("frequency_penalty", in: Self.penaltyRange, default: 0)
        stream = try reader.bool("stream", default: false)
        seed = try reader.seed()
        stop = try Self.parseStop(reader.value("stop"))
        includeUsageInStream = false
        if let options = reader.value("stream_options") {
            guard let object = options.objectValue else {
                throw APIError.invalidParameter("stream_options", "'stream_options' must be an object.")
            }
            guard stream else {
                throw APIError.invalidParameter("stream_options", "'stream_options' is only allowed when 'stream' is true.")
            }
            let optionsReader = try ParameterReader(body: .object(object))
            includeUsageInStream = try optionsReader.bool("include_usage", default: false)
        }
        // One choice per request is all any backend here produces; saying so beats silently ignoring it.
        if let n = try reader.optionalInt("n", in: 1...128), n != 1 {
            throw APIError.invalidParameter("n", "Only n=1 is supported.")
        }
    }

    static func parseStop(_ value: JSONValue?) throws(APIError) -> [String] {
        switch value {
        case .none: return []
        case .string(let stop)?: return stop.isEmpty ? [] : [stop]
        case .array(let items)?:
            guard items.count <= maxStopSequences else {
                throw APIError.invalidParameter("stop", "'stop' may hold at most \(maxStopSequences) sequences.")
            }
            var stops: [String] = []
            for item in items {
                guard let stop = item.stringValue else {
                    throw APIError.invalidParameter("stop", "'stop' must be a string or a list of strings.")
                }
                if !stop.isEmpty { stops.append(stop) }
            }
            return stops
        default:
            throw APIError.invalidParameter("stop", "'stop' must be a string or a list of strings.")
        }
    }
}
