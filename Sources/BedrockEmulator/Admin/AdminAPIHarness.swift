import NIOCore
import NIOHTTP1

/// The admin API without sockets: a fresh emulator service whose admin calls are made
/// directly with its token. For the fuzz target (package access, no product API).
package struct AdminAPIHarness {
    private let service = EmulatorService(configuration: EmulatorConfiguration(), adminToken: "fuzz-admin-token")

    package init() {}

    /// Calls `method /_quarry/<path>` with `body`; the status and body of the answer.
    package func call(method: String, path: [String], body: [UInt8]) -> (status: Int, body: [UInt8]) {
        let request = EmulatorRequest(
            method: method, target: "/_quarry/" + path.joined(separator: "/"),
            headers: HTTPHeaders([(AdminAPI.tokenHeader, service.adminToken)]),
            body: ByteBuffer(bytes: body))
        switch AdminAPI(service: service).handle(request, segments: path, requestID: "fuzz") {
        case .complete(let status, _, let body): return (status, body)
        case .stream(let status, _, _, _): return (status, [])
        case .stall, .reset: return (0, [])
        }
    }
}
