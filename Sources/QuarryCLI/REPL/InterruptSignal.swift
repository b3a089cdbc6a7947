import Dispatch
import Foundation

/// Turns Ctrl-C (SIGINT) into a callback on a dispatch queue.
///
/// SIGINT's default action is switched off and a dispatch signal source watches it, so
/// no Swift code runs inside a raw signal handler: the callback runs on an ordinary
/// queue, where it may cancel the running evaluation or wake the prompt.
final class InterruptSignal: @unchecked Sendable {
    // A dispatch source is thread-safe; it is only created, resumed and cancelled here.
    private let source: any DispatchSourceSignal

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "quarry.repl.sigint"))
        source.setEventHandler(handler: onInterrupt)
        source.resume()
    }

    /// Stops watching and restores SIGINT's default action.
    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
