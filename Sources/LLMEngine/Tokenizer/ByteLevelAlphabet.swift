/// GPT-2's byte-level alphabet: each of the 256 byte values stands for one printable character,
/// so any byte string can be a vocabulary entry. Bytes that are already printable stand for
/// themselves; the rest are moved up from U+0100.
public enum ByteLevelAlphabet {
    public static let characterForByte: [Character] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var characters = [Character](repeating: " ", count: 256)
        var next = 256
        for byte in 0..<256 {
            if printable.contains(byte) {
                characters[byte] = Character(Unicode.Scalar(UInt32(byte))!)
            } else {
                characters[byte] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        printable.removeAll()
        return characters
    }()

    static let byteForScalar: [UInt32: UInt8] = {
        var bytes: [UInt32: UInt8] = [:]
        for (byte, character) in characterForByte.enumerated() {
            bytes[character.unicodeScalars.first!.value] = UInt8(byte)
        }
        return bytes
    }()

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        String(bytes.map { characterForByte[Int($0)] })
    }

    /// The bytes a vocabulary entry stands for; `nil` if it holds a character outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byteForScalar[scalar.value] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
