import Crypto
import EmulatorTestSupport
import Foundation
import SwiftASN1
import Testing
import X509

@testable import BedrockEmulator

/// Issue 23 item 5 (end) and item 6: the `--tls` CA can vouch only for loopback names,
/// its file is private and removed on stop, and files are never written through a
/// planted symbolic link.
@Suite struct CertificateAndFileTests {
    @Test("the generated CA carries critical name constraints: DNS names under localhost only")
    func caIsNameConstrained() throws {
        let generated = try SelfSignedCertificate.generate(hosts: ["localhost", "127.0.0.1", "::1"])
        let ca = try Certificate(pemEncoded: generated.caPEM)
        let constraints = try #require(try ca.extensions.nameConstraints)
        let raw = try #require(ca.extensions.first { $0.oid == .X509ExtensionID.nameConstraints })
        #expect(raw.critical)
        #expect(constraints.permittedDNSDomains.contains("localhost"))
        #expect(constraints.permittedDNSDomains.count == 1)
        #expect(Array(constraints.permittedIPRanges).isEmpty, "BoringSSL cannot check IP constraints: left open")
    }

    @Test("a leaf for another name signed under these constraints is rejected by the verifier")
    func verifierRejectsForeignLeaf() async throws {
        let caKey = P256.Signing.PrivateKey()
        let now = Date()
        let caName = try DistinguishedName { CommonName("test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(3600),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                Critical(SelfSignedCertificate.loopbackConstraints(extra: ["localhost", "127.0.0.1", "::1"]))
            },
            issuerPrivateKey: .init(caKey))
        func leaf(_ name: GeneralName) throws -> Certificate {
            let key = P256.Signing.PrivateKey()
            return try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(3600),
                issuer: caName, subject: try DistinguishedName { CommonName("leaf") },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    SubjectAlternativeNames([name])
                },
                issuerPrivateKey: .init(caKey))
        }
        func verifies(_ certificate: Certificate) async -> Bool {
            var verifier = Verifier(rootCertificates: CertificateStore([ca])) { RFC5280Policy(validationTime: now) }
            if case .validCertificate = await verifier.validate(leaf: certificate, intermediates: CertificateStore()) {
                return true
            }
            return false
        }
        #expect(await verifies(try leaf(.dnsName("localhost"))))
        #expect(await verifies(try leaf(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])))))
        #expect(!(await verifies(try leaf(.dnsName("bedrock-runtime.us-east-1.amazonaws.com")))))
        #expect(!(await verifies(try leaf(.dnsName("attacker.example")))))
    }

    @Test("the --tls CA file is 0600, never written through a link, and removed on stop")
    func caFileIsPrivateAndRemoved() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let victim = directory.appendingPathComponent("victim").path
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let chosen = directory.appendingPathComponent("ca.pem").path
        try FileManager.default.createSymbolicLink(atPath: chosen, withDestinationPath: victim)

        for path in [chosen, nil] {
            let (emulator, endpoint) = try await BedrockEmulator.started(
                .oneThread {
                    $0.tls = true
                    $0.caCertificatePath = path
                })
            let written = try #require(endpoint.caCertificatePath)
            var info = stat()
            #expect(lstat(written, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFREG, "a regular file, not the planted link")
            #expect(info.st_mode & 0o777 == 0o600)
            await emulator.stop()
            #expect(!FileManager.default.fileExists(atPath: written), "removed on stop")
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }

    @Test("PrivateFile never writes through a planted link and keeps modes")
    func privateFileRefusesLinks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let victim = directory.appendingPathComponent("authorized_keys").path
        try "ssh-ed25519 AAAA original\n".write(toFile: victim, atomically: false, encoding: .utf8)
        chmod(victim, 0o644)
        let planted = directory.appendingPathComponent("out").path
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim)

        #expect(throws: PrivateFile.WriteError.self) { try PrivateFile.append(planted, contents: Array("x\n".utf8)) }
        #expect(throws: PrivateFile.WriteError.self) { try PrivateFile.createNew(planted, contents: Array("x\n".utf8)) }
        try PrivateFile.replace(planted, contents: Array("report\n".utf8))
        #expect(try String(contentsOfFile: planted, encoding: .utf8) == "report\n")
        var info = stat()
        #expect(lstat(planted, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "ssh-ed25519 AAAA original\n")
        #expect(stat(victim, &info) == 0 && info.st_mode & 0o777 == 0o644)

        // A hard link to someone's file is not appended to either.
        let hard = directory.appendingPathComponent("hard").path
        #expect(link(victim, hard) == 0)
        #expect(throws: PrivateFile.WriteError.self) { try PrivateFile.append(hard, contents: Array("x\n".utf8)) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "ssh-ed25519 AAAA original\n")

        // Replacing keeps an existing regular file's mode unless one is given.
        let plain = directory.appendingPathComponent("plain").path
        try PrivateFile.createNew(plain, contents: Array("a".utf8), mode: 0o640)
        try PrivateFile.replace(plain, contents: Array("b".utf8))
        #expect(stat(plain, &info) == 0 && info.st_mode & 0o777 == 0o640)
        try PrivateFile.append(plain, contents: Array("c".utf8), mode: 0o600)
        #expect(try String(contentsOfFile: plain, encoding: .utf8) == "bc")
        #expect(stat(plain, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}
