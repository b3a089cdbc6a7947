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
        let caName = try DistinguishedName {
            CommonName("Quarry Bedrock Emulator CA"); OrganizationName("Quarry")
        }
        let serverName = try DistinguishedName {
            CommonName("localhost"); OrganizationName("Quarry")
        }
        let caCertificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(caKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(86400 * 30), issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                // Even if the CA file outlives the emulator (a stale AWS_CA_BUNDLE), the CA
                // can vouch only for loopback names.
                Critical(Self.loopbackConstraints(extra: hosts))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))
        var names: [GeneralName] = []
        for host in hosts {
            if let address = IPBytes(host) {
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

extension SelfSignedCertificate {
    /// Name constraints permitting DNS names under `localhost` only — plus any of
    /// `extra` (the configured listening host) that is a non-loopback DNS name. So even
    /// a CA file that outlives the emulator (a stale `AWS_CA_BUNDLE`) cannot vouch for
    /// `bedrock-runtime.….amazonaws.com` or any other name.
    ///
    /// IP addresses are left unconstrained: BoringSSL (NIOSSL, and AWS-LC in the AWS
    /// CRT) rejects every certificate under an IP-address constraint as unsupported,
    /// which would break `https://127.0.0.1:PORT`. (The CA's key is never stored: it
    /// signs the one server certificate at start and is dropped.)
    static func loopbackConstraints(extra: [String]) -> NameConstraints {
        var dns: [String] = ["localhost"]
        for host in extra {
            let name = HostCheck.normalise(host)
            if HostCheck.isLoopback(name) || IPBytes(name) != nil || name.isEmpty || dns.contains(name) { continue }
            dns.append(name)
        }
        return NameConstraints(permittedDNSDomains: dns)
    }
}

/// IPv4 and IPv6 address parsing for certificate subject alternative names.
struct IPBytes {
    let bytes: [UInt8]
    init?(_ text: String) {
        let name = HostCheck.normalise(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }
}
