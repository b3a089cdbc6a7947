import Foundation

/// `uuid()`: a random version-4 UUID in lower case, for ids a script makes up.
struct UUIDBindings {
    /// Adds `uuid` to `table`.
    func register(into table: inout HostFunctionTable) {
        table.add("uuid", { _ in .values([.string(UUID().uuidString.lowercased())]) })
    }
}
