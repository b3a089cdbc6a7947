import Foundation

/// A tiny lock for test helpers.
final class NSLockish: @unchecked Sendable {
    private let lock = NSLock()
    func sync<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
