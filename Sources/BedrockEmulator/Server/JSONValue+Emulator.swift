import BedrockWire

extension JSONValue {
    /// The bytes the emulator sends for this value: compact, members sorted by name,
    /// whole numbers as integers (``JSONWriter/canonical``), so equal values serialize
    /// identically.
    var serialized: [UInt8] { JSONWriter.canonical.bytes(self) }

    /// The text of ``serialized``, for messages.
    var text: String { JSONWriter.canonical.string(self) }
}
