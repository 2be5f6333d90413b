import Crypto
import Foundation

/// The plain-text form of keys: how they are made and how they are hashed for storage.
public enum APIKeySecret {
    static let marker = "vc_"
    /// 24 random bytes = 192 bits, well past the 128 the contract asks for.
    static let randomByteCount = 24
    static let prefixLength = 10

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<randomByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return marker + base64URL(bytes)
    }

    /// Keys carry 192 random bits, so a fast unsalted hash cannot be brute-forced; it lets a lookup
    /// be one indexed equality match.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public static func displayPrefix(_ key: String) -> String {
        String(key.prefix(prefixLength))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
