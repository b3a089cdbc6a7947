import Foundation
import Synchronization

/// Sliding one-minute windows of requests and tokens per (quota, model, region).
final class QuotaLimiter: Sendable {
    private struct Key: Hashable { var quota: Int; var model: String; var region: String }
    private struct Window { var requests: [Date] = []; var tokens: [(Date, Int)] = [] }

    private let quotas: [EmulatorQuota]
    private let windows = Mutex<[Key: Window]>([:])

    init(quotas: [EmulatorQuota]) { self.quotas = quotas }

    var isEmpty: Bool { quotas.isEmpty }

    private func keys(model: String, region: String) -> [(Int, EmulatorQuota, Key)] {
        quotas.enumerated().compactMap { index, quota in
            if let wanted = quota.model, wanted != model { return nil }
            if let wanted = quota.region, wanted != region { return nil }
            return (index, quota, Key(quota: index, model: model, region: region))
        }
    }

    /// Admits one request, or throws the service's throttling error.
    func admit(model: String, region: String, now: Date = Date()) throws(ServiceError) {
        guard !quotas.isEmpty else { return }
        let matching = keys(model: model, region: region)
        let cutoff = now.addingTimeInterval(-60)
        let failure: ServiceError? = windows.withLock { windows in
            for (_, quota, key) in matching {
                var window = windows[key, default: Window()]
                window.requests.removeAll { $0 <= cutoff }
                window.tokens.removeAll { $0.0 <= cutoff }
                windows[key] = window
                if let limit = quota.requestsPerMinute, window.requests.count >= limit {
                    return ServiceError(.throttling, "Too many requests, please wait before trying again.")
                }
                if let limit = quota.tokensPerMinute, window.tokens.reduce(0, { $0 + $1.1 }) >= limit {
                    return ServiceError(.throttling, "Too many tokens, please wait before trying again.")
                }
            }
            for (_, _, key) in matching { windows[key, default: Window()].requests.append(now) }
            return nil
        }
        if let failure { throw failure }
    }

    /// Charges the tokens a request used.
    func charge(tokens: Int, model: String, region: String, now: Date = Date()) {
        guard !quotas.isEmpty else { return }
        let matching = keys(model: model, region: region)
        windows.withLock { windows in
            for (_, _, key) in matching { windows[key, default: Window()].tokens.append((now, tokens)) }
        }
    }
}
