/// The Lua half of `quarry test`: `test`, `describe`, `before_each`, `after_each`,
/// `skip` and `expect(…)` matchers. Loading a test file only registers tests; the
/// Swift runner then asks for the list and runs each test in turn (timing it, and
/// cancelling it when it outlives its timeout) through the chunk's `run(i)`, which only
/// the host holds.
enum TestPrelude {
    /// The chunk name the framework loads under.
    static let chunkName = "=[quarry test]"

    /// The source, from `test_prelude.lua` beside this file, embedded at build time.
    static let source = String(decoding: PackageResources.test_prelude_lua, as: UTF8.self)
}
