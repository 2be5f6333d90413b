import Crypto
import Foundation

/// The pages' files (HTML, CSS, JavaScript modules, an icon), shipped as the target's resources
/// and read into memory once: a few tens of kilobytes, served without touching the disk.
struct WebAssets: Sendable {
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
        /// A strong validator, so a browser revalidates and an upgrade is seen at once.
        let etag: String
    }

    let files: [String: File]

    subscript(name: String) -> File? { files[name] }

    /// The files under the bundle's `WebAssets` folder, by path relative to it (`js/me.js`).
    static let bundled: WebAssets = {
        guard let root = Bundle.module.resourceURL?.appendingPathComponent("WebAssets") else {
            return WebAssets(files: [:])
        }
        return load(root)
    }()

    static func load(_ root: URL) -> WebAssets {
        var files: [String: File] = [:]
        let prefix = root.standardizedFileURL.path + "/"
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = try? Data(contentsOf: url) else { continue }
            let name = String(url.standardizedFileURL.path.dropFirst(prefix.count))
            let digest = SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined()
            files[name] = File(bytes: Array(data), contentType: contentType(url.pathExtension), etag: "\"\(digest)\"")
        }
        return WebAssets(files: files)
    }

    static func contentType(_ pathExtension: String) -> String {
        switch pathExtension {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }
}
