import BedrockWire
import Foundation
import Logging

/// Caches another provider's credentials and refreshes them before they expire
/// (by default 5 minutes ahead, not at the last second). Concurrent callers during
/// a refresh share the one fetch. Credentials without an expiry are kept forever.
public actor CachingCredentialProvider: CredentialProvider {
    public nonisolated let name: String
    private let base: any CredentialProvider
    private let refreshAhead: TimeInterval
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private var cached: SigV4Credentials?
    private var inFlight: Task<SigV4Credentials, any Error>?
    /// How many times the base provider was asked (for tests and diagnostics).
    public private(set) var fetchCount = 0

    /// Caches `base`, refreshing `refreshAhead` seconds before expiry.
    /// Logs go to `logger` (trace: every fetch; they show only the masked key id).
    public init(_ base: any CredentialProvider, refreshAhead: TimeInterval = 300,
                logger: Logger = Logger(label: "quarry.credentials"),
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.base = base
        self.logger = logger
        self.name = base.name
        self.refreshAhead = refreshAhead
        self.clock = clock
    }

    public func credentials() async throws -> SigV4Credentials {
        if let cached, !needsRefresh(cached) { return cached }
        if let inFlight { return try await inFlight.value }
        fetchCount += 1
        logger.trace("fetching credentials", metadata: ["provider": "\(name)", "previous": "\(cached.map(\.description) ?? "none")"])
        let task = Task { [base] in try await base.credentials() }
        inFlight = task
        defer { inFlight = nil }
        do {
            let fresh = try await task.value
            cached = fresh
            logger.trace("fetched credentials", metadata: ["provider": "\(name)", "credentials": "\(fresh)"])
            return fresh
        } catch {
            logger.debug("credential refresh failed", metadata: ["provider": "\(name)", "error": "\(error)"])
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
