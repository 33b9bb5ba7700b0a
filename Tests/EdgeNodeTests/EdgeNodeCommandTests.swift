import Foundation
import XCTest

final class EdgeNodeCommandTests: XCTestCase {
    /// The firmware links the Debian libzmq and OpenBLAS the package asked pkg-config for.
    func testInfoReportsLinkedLibraries() throws {
        let r = try EdgeNodeProcess.run(["info", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual((json["zeromq_version"] as? String)?.first, "4")
        XCTAssertFalse((json["blas_core"] as? String ?? "").isEmpty)
    }
}
