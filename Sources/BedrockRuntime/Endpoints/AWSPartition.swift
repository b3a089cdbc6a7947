/// An AWS partition: the group of regions that share a DNS suffix (`aws`,
/// `aws-cn`, `aws-us-gov`, …), with the facts the endpoint rules need. The table
/// and region patterns follow botocore's `partitions.json`.
public struct AWSPartition: Sendable, Hashable {
    /// The partition id, e.g. `aws-us-gov`.
    public let name: String
    /// The regular DNS suffix, e.g. `amazonaws.com.cn`.
    public let dnsSuffix: String
    /// The dual-stack (IPv4 + IPv6) DNS suffix, e.g. `api.aws`.
    public let dualStackDnsSuffix: String
    /// Whether FIPS endpoints exist in this partition.
    public let supportsFIPS: Bool
    /// Whether dual-stack endpoints exist in this partition.
    public let supportsDualStack: Bool
    /// Region-name prefix before `-<word>-<digits>` (`cn`, `us-gov`, `us-iso`, …);
    /// nil for the standard partition, which matches a list of prefixes.
    let prefixes: [String]

    /// Every partition, most specific first, the standard `aws` partition last.
    public static let all: [AWSPartition] = [
        .init(
            name: "aws-us-gov", dnsSuffix: "amazonaws.com", dualStackDnsSuffix: "api.aws",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["us-gov"]),
        .init(
            name: "aws-cn", dnsSuffix: "amazonaws.com.cn", dualStackDnsSuffix: "api.amazonwebservices.com.cn",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["cn"]),
        .init(
            name: "aws-iso", dnsSuffix: "c2s.ic.gov", dualStackDnsSuffix: "api.aws.ic.gov",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["us-iso"]),
        .init(
            name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", dualStackDnsSuffix: "api.aws.scloud",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["us-isob"]),
        .init(
            name: "aws-iso-e", dnsSuffix: "cloud.adc-e.uk", dualStackDnsSuffix: "api.cloud-aws.adc-e.uk",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["eu-isoe"]),
        .init(
            name: "aws-iso-f", dnsSuffix: "csp.hci.ic.gov", dualStackDnsSuffix: "api.aws.hci.ic.gov",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["us-isof"]),
        .init(
            name: "aws-eusc", dnsSuffix: "amazonaws.eu", dualStackDnsSuffix: "api.amazonwebservices.eu",
            supportsFIPS: true, supportsDualStack: true, prefixes: ["eusc-de"]),
        standard,
    ]

    /// The standard `aws` partition, also used for regions no pattern matches (as
    /// the SDKs do).
    public static let standard = AWSPartition(
        name: "aws", dnsSuffix: "amazonaws.com", dualStackDnsSuffix: "api.aws", supportsFIPS: true,
        supportsDualStack: true, prefixes: ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"])

    /// The partition `region` belongs to: the first whose pattern
    /// `^<prefix>-\w+-\d+$` matches, else `aws`.
    public static func of(region: String) -> AWSPartition {
        all.first { $0.matches(region) } ?? standard
    }

    func matches(_ region: String) -> Bool {
        prefixes.contains { prefix in
            guard region.hasPrefix(prefix + "-") else { return false }
            let tail = region.dropFirst(prefix.count + 1).split(separator: "-", omittingEmptySubsequences: false)
            guard tail.count == 2 else { return false }
            let word = tail[0], number = tail[1]
            return !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                && !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }
}
