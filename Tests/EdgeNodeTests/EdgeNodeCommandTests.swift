import Foundation
import XCTest

final class EdgeNodeCommandTests: XCTestCase {
    /// The firmware links the Debian libzmq and OpenBLAS the package asked pkg-config for.
    func testInfoReportsLinkedLibraries() throws {
        let process = Process()
        // The test runner is built beside the products (.build/<config>/).
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("edgenode")
        process.arguments = ["info", "--json"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual((json["zeromq_version"] as? String)?.first, "4")
        XCTAssertFalse((json["blas_core"] as? String ?? "").isEmpty)
    }
}
