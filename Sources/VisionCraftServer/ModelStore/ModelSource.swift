import Foundation

/// Where `visioncraft models pull` fetches from, and where the file goes: a URL, or a file on the
/// Hugging Face hub written `owner/repo/path/in/repo` (the `main` revision; `owner/repo@rev/path`
/// for another), fetched from `https://huggingface.co` or the `HF_ENDPOINT` a mirror sets.
public struct ModelSource: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A chat model (GGUF): `models/`.
        case llm
        /// A Stable Diffusion checkpoint: `models/sd/`.
        case checkpoint
        case lora
        case taesd
        /// An AnimateDiff motion module: `models/motion/`.
        case motion

        var folder: String {
            switch self {
            case .llm: ""
            case .checkpoint: "sd"
            case .lora: "loras"
            case .taesd: "taesd"
            case .motion: "motion"
            }
        }
    }

    public var url: String
    public var fileName: String
    public var kind: Kind

    public init(_ text: String, kind: Kind? = nil, hubEndpoint: String = "https://huggingface.co") throws {
        if text.hasPrefix("http://") || text.hasPrefix("https://") {
            guard let components = URLComponents(string: text), let last = components.path.split(separator: "/").last else {
                throw ConfigurationError("Not a file URL: \(text)")
            }
            url = text
            fileName = String(last)
        } else {
            var parts = text.split(separator: "/").map(String.init)
            guard parts.count >= 3, !parts.contains(".."), !parts.contains(".") else {
                throw ConfigurationError("Expected a URL or a Hugging Face file as owner/repo/path, got '\(text)'.")
            }
            var revision = "main"
            if let at = parts[1].firstIndex(of: "@") {
                revision = String(parts[1][parts[1].index(after: at)...])
                parts[1] = String(parts[1][..<at])
            }
            let path = parts[2...].map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0 }
            url = "\(hubEndpoint.hasSuffix("/") ? String(hubEndpoint.dropLast()) : hubEndpoint)/\(parts[0])/\(parts[1])/resolve/\(revision)/"
                + path.joined(separator: "/")
            fileName = parts.last!
        }
        guard !fileName.hasPrefix("."), !fileName.contains("\\") else { throw ConfigurationError("Unusable file name '\(fileName)'.") }
        self.kind = kind ?? (fileName.hasSuffix(".gguf") ? .llm : .checkpoint)
    }

    /// The file's place under the models folder.
    public func destination(in modelsDirectory: String) -> String {
        let folder = kind.folder.isEmpty ? modelsDirectory : (modelsDirectory as NSString).appendingPathComponent(kind.folder)
        return (folder as NSString).appendingPathComponent(fileName)
    }
}
