import Foundation

@testable import BedrockRuntime

/// Runs `body`, giving up after `seconds` (nil then): a guard so that a regression
/// (a hang) fails the test instead of stalling the suite. Not a performance check.
/// The body runs unstructured, so a body that ignores cancellation cannot hold the
/// guard (a task group would wait for it).
func withinGuard<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async -> T) async -> T? {
    let once = ResumeOnce()
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let work = Task {
            let value = await body()
            if once.claim() { continuation.resume(returning: value) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if once.claim() {
                work.cancel()
                continuation.resume(returning: nil)
            }
        }
    }
}

/// Lets exactly one of several racers resume a continuation.
final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.withLock {
            if done { return false }
            done = true
            return true
        }
    }
}

/// The error `body` throws, as text with its type (nil when it returns).
func thrownError(_ body: () async throws -> Void) async -> (any Error)? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}
