import CommandLineSupport
import Foundation
import XCTest

/// The memo store: what was stored comes back for the same key only, and every way an entry can
/// be unusable is a miss with its reason (never a wrong value, never an allocation the file asks for).
final class MemoTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("airfl-memo-\(UUID().uuidString)")
        directory = url.path
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    func key(_ seed: Int) -> [UInt8] {
        var k = MemoKey("test v1")
        k.add("seed", Int64(seed))
        k.add("text", "fortunes")
        return k.bytes
    }

    func testStoredValueComesBackForItsKeyOnly() throws {
        let memo = try Memo(directory: directory)
        XCTAssertEqual(memo.lookup(kind: "t", key: key(1), maxValueBytes: 100), .absent)
        try memo.store(kind: "t", key: key(1), value: [1, 2, 3])
        XCTAssertEqual(memo.lookup(kind: "t", key: key(1), maxValueBytes: 100), .hit([1, 2, 3]))
        XCTAssertEqual(memo.lookup(kind: "t", key: key(2), maxValueBytes: 100), .absent)
        XCTAssertEqual(memo.lookup(kind: "u", key: key(1), maxValueBytes: 100), .absent)
        try memo.store(kind: "t", key: key(1), value: [])
        XCTAssertEqual(memo.lookup(kind: "t", key: key(1), maxValueBytes: 0), .hit([]))
        XCTAssertTrue(
            try FileManager.default.contentsOfDirectory(atPath: directory).allSatisfy {
                !$0.hasPrefix(DurableFile.temporaryPrefix)
            })
    }

    func testKeyFieldsCannotRunIntoEachOther() {
        var a = MemoKey("k")
        var b = MemoKey("k")
        a.add("x", "ab")
        a.add("y", "c")
        b.add("x", "a")
        b.add("y", "bc")
        XCTAssertNotEqual(a.bytes, b.bytes)
    }

    func testAnotherKeyUnderTheSameNameIsAMiss() throws {
        let memo = try Memo(directory: directory)
        try memo.store(kind: "t", key: key(2), value: [9])
        // As if key(2) hashed to key(1)'s file name.
        try FileManager.default.moveItem(
            atPath: memo.path(kind: "t", key: key(2)), toPath: memo.path(kind: "t", key: key(1)))
        guard case .unusable(let reason) = memo.lookup(kind: "t", key: key(1), maxValueBytes: 100) else {
            return XCTFail("a collision was used")
        }
        XCTAssertTrue(reason.contains("another key"), reason)
    }

    func testEveryDamagedEntryIsAMissWithItsReason() throws {
        let memo = try Memo(directory: directory)
        try memo.store(kind: "t", key: key(1), value: Array(0..<64))
        let path = memo.path(kind: "t", key: key(1))
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        // Every cut and every flipped byte.
        for cut in 0..<good.count {
            try good.prefix(cut).write(to: URL(fileURLWithPath: path))
            guard case .unusable = memo.lookup(kind: "t", key: key(1), maxValueBytes: 100) else {
                return XCTFail("cut at \(cut) was used")
            }
        }
        for i in 0..<good.count {
            var bad = good
            bad[i] ^= 0x01
            try bad.write(to: URL(fileURLWithPath: path))
            guard case .unusable(let reason) = memo.lookup(kind: "t", key: key(1), maxValueBytes: 100) else {
                return XCTFail("byte \(i) flipped was used")
            }
            XCTAssertTrue(reason.hasPrefix(path), reason)
        }
        try good.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(memo.lookup(kind: "t", key: key(1), maxValueBytes: 100), .hit(Array(0..<64)))
    }

    func testAValueLargerThanAllowedIsRefusedUnread() throws {
        let memo = try Memo(directory: directory)
        try memo.store(kind: "t", key: key(1), value: [UInt8](repeating: 7, count: 1000))
        guard case .unusable(let reason) = memo.lookup(kind: "t", key: key(1), maxValueBytes: 999) else {
            return XCTFail("an oversized value was read")
        }
        XCTAssertTrue(reason.contains("more than the 999"), reason)
    }

    func testFileHashMatchesTheBytesHash() throws {
        let path = directory + "/blob"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try XCTUnwrap(FNV1a.hash(file: path))
        XCTAssertEqual(file.bytes, bytes.count)
        XCTAssertEqual(file.hash, FNV1a.hash(bytes))
        XCTAssertNil(FNV1a.hash(file: directory + "/missing"))
    }
}
