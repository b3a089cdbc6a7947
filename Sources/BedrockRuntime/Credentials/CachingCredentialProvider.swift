import BedrockWire
import Foundation
import Logging

/// Caches another provider's credentials and refreshes them before they expire
/// (by default 5 minutes ahead, not at the last second). Concurrent callers during
/// a refresh share the one fetch. Credentials without an expiry are kept forever.
///
/// Callers never wait while the cached credentials are still valid: inside the
/// refresh window the refresh runs in the background and the cached credentials are
/// returned. Only when there are none (or they expire within `Self.minimumLifetime`)
/// do callers wait, and each waiter observes its own task's cancellation: a
/// cancelled caller returns at once, the shared fetch going on for the others.
public actor CachingCredentialProvider: CredentialProvider {
    public nonisolated let name: String
    private let base: any CredentialProvider
    private let refreshAhead: TimeInterval
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private var cached: SigV4Credentials?
    /// Whether a fetch is running.
    private var refreshing = false
    /// Bumped by `invalidate()`: a fetch started before it does not fill the cache.
    private var generation = 0
    /// Callers waiting for the running fetch, by ticket.
    private var waiters: [UInt64: CheckedContinuation<SigV4Credentials, any Error>] = [:]
    private var nextTicket: UInt64 = 0
    /// How many times the base provider was asked (for tests and diagnostics).
    public private(set) var fetchCount = 0

    /// Credentials expiring sooner than this are not handed out without a refresh.
    static let minimumLifetime: TimeInterval = 15

    /// Caches `base`, refreshing `refreshAhead` seconds before expiry.
    /// Logs go to `logger` (trace: every fetch; they show only the masked key id).
    public init(
        _ base: any CredentialProvider, refreshAhead: TimeInterval = 300,
        logger: Logger = Logger(label: "quarry.credentials"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.base = base
        self.logger = logger
        self.name = base.name
        self.refreshAhead = refreshAhead.isFinite ? max(0, refreshAhead) : 300
        self.clock = clock
    }

    public func credentials() async throws -> SigV4Credentials {
        if let cached, isUsable(cached) {
            if needsRefresh(cached) { startRefresh() }  // in the background
            return cached
        }
        try Task.checkCancellation()
        let ticket = nextTicket
        nextTicket += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[ticket] = continuation
                    startRefresh()  // no-op while one runs; never leaves a waiter without a fetch
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(ticket) }
        }
    }

    /// Drops the cache so the next call fetches (e.g. after the service rejected them).
    public func invalidate() {
        cached = nil
        generation += 1
    }

    private func cancelWaiter(_ ticket: UInt64) {
        waiters.removeValue(forKey: ticket)?.resume(throwing: CancellationError())
    }

    /// Starts a fetch unless one is running. The fetch itself runs unstructured (it is
    /// shared); its network calls carry their own deadlines.
    private func startRefresh() {
        guard !refreshing else { return }
        refreshing = true
        fetchCount += 1
        let startedGeneration = generation
        logger.trace(
            "fetching credentials",
            metadata: ["provider": "\(name)", "previous": "\(cached.map(\.description) ?? "none")"])
        Task { [base] in
            let result: Result<SigV4Credentials, any Error>
            do { result = .success(try await base.credentials()) } catch { result = .failure(error) }
            self.finishRefresh(result, generation: startedGeneration)
        }
    }

    private func finishRefresh(_ result: Result<SigV4Credentials, any Error>, generation started: Int) {
        refreshing = false
        let outcome: Result<SigV4Credentials, any Error>
        switch result {
        case .success(let fresh):
            if started == generation { cached = fresh }
            logger.trace("fetched credentials", metadata: ["provider": "\(name)", "credentials": "\(fresh)"])
            outcome = .success(fresh)
        case .failure(let error):
            logger.debug("credential refresh failed", metadata: ["provider": "\(name)", "error": "\(error)"])
            // Still-valid old credentials beat an error from a refresh started early.
            if let cached, !cached.isExpired(at: clock()) {
                outcome = .success(cached)
            } else {
                outcome = .failure(error)
            }
        }
        let waiting = waiters
        waiters = [:]
        for continuation in waiting.values { continuation.resume(with: outcome) }
    }

    private func isUsable(_ credentials: SigV4Credentials) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return clock().addingTimeInterval(min(Self.minimumLifetime, refreshAhead)) < expiration
    }

    private func needsRefresh(_ credentials: SigV4Credentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return clock().addingTimeInterval(refreshAhead) >= expiration
    }
}
