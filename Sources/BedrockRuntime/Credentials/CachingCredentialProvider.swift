import BedrockWire
import Foundation

/// Caches another provider's credentials and refreshes them before they expire
/// (by default 5 minutes ahead, not at the last second). Concurrent callers during
/// a refresh share the one fetch. Credentials without an expiry are kept forever.
public actor CachingCredentialProvider: CredentialProvider {
    public nonisolated let name: String
    private let base: any CredentialProvider
    private let refreshAhead: TimeInterval
    private let clock: @Sendable () -> Date
    private var cached: SigV4Credentials?
    private var inFlight: Task<SigV4Credentials, any Error>?
    /// How many times the base provider was asked (for tests and diagnostics).
    public private(set) var fetchCount = 0

    /// Caches `base`, refreshing `refreshAhead` seconds before expiry.
    public init(_ base: any CredentialProvider, refreshAhead: TimeInterval = 300,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.base = base
        self.name = base.name
        self.refreshAhead = refreshAhead
        self.clock = clock
    }

    public func credentials() async throws -> SigV4Credentials {
        if let cached, !needsRefresh(cached) { return cached }
        if let inFlight { return try await inFlight.value }
        fetchCount += 1
        let task = Task { [base] in try await base.credentials() }
        inFlight = task
        defer { inFlight = nil }
        do {
            let fresh = try await task.value
            cached = fresh
            return fresh
        } catch {
            // Still-valid old credentials beat an error from a refresh started early.
            if let cached, !cached.isExpired(at: clock()) { return cached }
            throw error
        }
    }

    /// Drops the cache so the next call fetches (e.g. after the service rejected them).
    public func invalidate() { cached = nil }

    private func needsRefresh(_ credentials: SigV4Credentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return clock().addingTimeInterval(refreshAhead) >= expiration
    }
}
