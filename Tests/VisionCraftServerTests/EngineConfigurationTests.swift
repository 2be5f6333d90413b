import Foundation
import LLMEngine
import Testing
@testable import VisionCraftServer

/// The embedded engine's settings in the configuration file: defaults, and a clear error for a
/// product order the engine does not have.
struct EngineConfigurationTests {
    func load(_ json: String) throws -> ServerConfiguration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ServerConfiguration.load(path: path)
    }

    @Test func theProductOrderIsBlockwiseUnlessLlamaCppsIsAskedFor() throws {
        #expect(try load("{}").embeddedEngine.productOrder == .blockwise)
        let exact = try load(#"{"server": {"engine_product_order": "llama-cpp", "engine_threads": 1}}"#).embeddedEngine
        #expect(exact.productOrder == .llamaCpp && exact.threads == 1)
    }

    @Test func anUnknownProductOrderIsRefusedNamingTheSetting() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try load(#"{"server": {"engine_product_order": "fastest"}}"#)
        }
        #expect(error?.description.hasSuffix("invalid value at server.engine_product_order.") == true,
                "\(error?.description ?? "")")
    }
}
