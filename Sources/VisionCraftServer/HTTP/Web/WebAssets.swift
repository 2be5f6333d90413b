import Crypto
import Foundation
import Mustache

/// The pages' files (CSS, JavaScript modules, an icon), shipped as the target's resources and
/// read into memory once: a few tens of kilobytes, served without touching the disk. The pages
/// themselves are Mustache templates (`pages/*.mustache`, sharing `layout.mustache` and
/// `partials/`) rendered once here, at load, into `docs.html` and the like: static HTML, since
/// everything that varies is fetched by the page as JSON.
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
        var templates = MustacheLibrary()
        let prefix = root.standardizedFileURL.path + "/"
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = try? Data(contentsOf: url) else { continue }
            let name = String(url.standardizedFileURL.path.dropFirst(prefix.count))
            if url.pathExtension == "mustache" {
                // A template that does not parse is a defect of the build, found by the tests.
                // Partials and the layout go by their file's name alone (a tag cannot name a
                // folder); pages, which no tag names, by their path.
                let template = name.hasPrefix("pages/") ? name : url.lastPathComponent
                try? templates.register(String(decoding: data, as: UTF8.self), named: String(template.dropLast(".mustache".count)))
            } else {
                files[name] = file(Array(data), type: url.pathExtension)
            }
        }
        for page in WebController.pages.values {
            let template = "pages/" + page.dropLast(".html".count)
            if let html = templates.render([String: String](), withTemplate: template) {
                files[page] = file(Array(html.utf8), type: "html")
            }
        }
        return WebAssets(files: files)
    }

    private static func file(_ bytes: [UInt8], type: String) -> File {
        let digest = SHA256.hash(data: bytes).prefix(12).map { String(format: "%02x", $0) }.joined()
        return File(bytes: bytes, contentType: contentType(type), etag: "\"\(digest)\"")
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
