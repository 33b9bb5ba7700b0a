import CommandLineSupport
import Foundation
import XCTest

final class DurableFileTests: XCTestCase {
    /// A durable write replaces the file whole and leaves nothing else behind; one that fails
    /// leaves the old file as it was; temporary files of a crashed write are cleared.
    func testDurableWritesReplaceWholeOrNotAtAll() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("airfl-durable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state").path
        try DurableFile.write(Data("old".utf8), to: path)
        try DurableFile.write(Data("new contents".utf8), to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("new contents".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["state"])
        // A target that cannot be replaced (a non-empty directory): the write fails, nothing changes.
        let blocked = dir.appendingPathComponent("blocked").path
        try FileManager.default.createDirectory(atPath: blocked + "/inside", withIntermediateDirectories: true)
        XCTAssertThrowsError(try DurableFile.write(Data("x".utf8), to: blocked)) {
            XCTAssertTrue("\($0)".contains("rename"), "\($0)")
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), ["state", "blocked"])
        try Data("torn".utf8).write(to: dir.appendingPathComponent(DurableFile.temporaryPrefix + "state.123"))
        DurableFile.removeLeftovers(in: dir.path)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), ["state", "blocked"])
    }
}
