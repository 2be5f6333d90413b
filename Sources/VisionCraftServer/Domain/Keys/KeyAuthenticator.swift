import Foundation

/// Turns a key that arrived with a request into the record it names, or the 401/403 to answer.
public struct KeyAuthenticator: Sendable {
    let repository: any KeyRepository

    public init(repository: any KeyRepository) {
        self.repository = repository
    }

    public func authenticate(_ presented: String?) async throws -> APIKeyRecord {
        guard let presented, !presented.isEmpty else { throw APIError.missingKey }
        guard let record = try await repository.find(hash: APIKeySecret.hash(presented)) else {
            throw APIError.unknownKey
        }
        guard record.isActive else {
            throw APIError.keyDeactivated(record.deactivationReason ?? "it was deactivated by the operator.")
        }
        return record
    }
}
