// libFuzzer executable for the `sigv4` target; its logic is `FuzzTarget.named("sigv4")`
// in QuarryFuzzSupport. Built and run by `scripts/fuzz`.
import Foundation
import QuarryFuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.run("sigv4", data, size)
}

// The module's top-level code is its entry point (SwiftPM renames it `FuzzSigV4_main`,
// which hides libFuzzer's own `main`): hand control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runDriver(&argumentCount, &arguments, fuzzOneInput))
