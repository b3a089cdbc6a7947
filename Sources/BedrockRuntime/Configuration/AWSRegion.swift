/// A validated AWS region name such as `us-east-1`.
public struct AWSRegion: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The region name.
    public let name: String

    /// Validates `name`: lower-case letters, digits and single inner hyphens, at least
    /// one hyphen, 1–63 characters (what every AWS region looks like; botocore
    /// refuses anything that is not a valid host label).
    public init(_ name: String) throws(ConfigurationError) {
        guard Self.isValid(name) else { throw .invalidRegion(name) }
        self.name = name
    }

    /// True when `name` is shaped like a region.
    public static func isValid(_ name: String) -> Bool {
        RegionNameRule.isWellFormed(name) && name.contains("-") && !name.contains("--")
    }

    /// The partition the region belongs to.
    public var partition: AWSPartition { AWSPartition.of(region: name) }

    public var description: String { name }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard Self.isValid(name) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: ConfigurationError.invalidRegion(name).description))
        }
        self.name = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
