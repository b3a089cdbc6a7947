import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A throwaway certificate authority and a `localhost`/`127.0.0.1` server certificate
/// it signs, generated at start, so clients can trust the CA file and verify TLS
/// normally (no `verify=False`).
struct SelfSignedCertificate: Sendable {
    /// The CA certificate, PEM, for clients to trust.
    let caPEM: String
    /// The server's certificate chain and key for NIOSSL.
    let serverCertificate: NIOSSLCertificate
    let serverKey: NIOSSLPrivateKey

    static func generate(hosts: [String]) throws -> SelfSignedCertificate {
        let caKey = P256.Signing.PrivateKey()
        let serverKey = P256.Signing.PrivateKey()
        let now = Date()
        let caName = try DistinguishedName { CommonName("Quarry Bedrock Emulator CA"); OrganizationName("Quarry") }
        let serverName = try DistinguishedName { CommonName("localhost"); OrganizationName("Quarry") }
        let caCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(caKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(86400 * 30), issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))
        var names: [GeneralName] = []
        for host in hosts {
            if let address = IPv4Bytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: address.bytes[...])))
            } else {
                names.append(.dnsName(host))
            }
        }
        let serverCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(serverKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(86400 * 30), issuer: caName, subject: serverName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: try caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        let caPEM = try caCertificate.serializeAsPEM().pemString
        let serverPEM = try serverCertificate.serializeAsPEM().pemString
        return SelfSignedCertificate(
            caPEM: caPEM,
            serverCertificate: try NIOSSLCertificate(bytes: Array(serverPEM.utf8), format: .pem),
            serverKey: try NIOSSLPrivateKey(bytes: Array(serverKey.pemRepresentation.utf8), format: .pem))
    }

    /// A server TLS context (ALPN `h2` and `http/1.1`).
    func context(applicationProtocols: [String]) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(serverCertificate)], privateKey: .privateKey(serverKey))
        configuration.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Dotted-quad IPv4 parsing for certificate subject alternative names.
private struct IPv4Bytes {
    let bytes: [UInt8]
    init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        self.bytes = bytes
    }
}
