import BedrockEmulator

/// The emulator's admin API bodies: the first byte picks the call (a fault rule or a
/// scripted reply, POSTed with the admin token), the rest is the body. A fresh
/// emulator service per input (no sockets). Every body gets a JSON answer; a rule or
/// reply it accepted must list again (`GET`) with `200`.
public enum AdminAPIFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        let collection = (data.first ?? 0) % 2 == 0 ? "faults" : "responses"
        let admin = AdminAPIHarness()
        let posted = admin.call(method: "POST", path: [collection], body: Array(data.dropFirst()))
        guard posted.status == 201 || posted.status == 400 else {
            throw FuzzFinding(
                "admin-api", "POST /_quarry/\(collection) answered \(posted.status): \(String(lossy: posted.body))")
        }
        guard posted.body.first == UInt8(ascii: "{") else {
            throw FuzzFinding("admin-api", "POST /_quarry/\(collection) answered with a body that is not a JSON object")
        }
        if posted.status == 201 {
            let listed = admin.call(method: "GET", path: [collection], body: [])
            guard listed.status == 200 else {
                throw FuzzFinding(
                    "admin-api", "GET /_quarry/\(collection) after an accepted POST answered \(listed.status)")
            }
        }
    }
}
