import Foundation
import TestSupport

/// Locates and runs the `quarry` executable built next to the test bundle.
enum QuarryProcess {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static var binary: URL { executable("quarry") }

    /// An executable product built next to the test bundle (`quarry`, `ExampleHost`).
    static func executable(_ name: String) -> URL { BuiltProduct.executable(name) }

    /// Writes `body` to a new `.lua` file in the temporary directory (its name starts
    /// with `prefix`) and returns its path.
    static func script(_ body: String, prefix: String = "quarry-script") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString).lua")
            .path
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(
        _ arguments: [String], stdin: String? = nil,
        environment: [String: String]? = nil, executable name: String = "quarry"
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable(name)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }
}
