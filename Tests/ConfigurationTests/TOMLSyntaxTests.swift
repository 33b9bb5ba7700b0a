import Foundation
import TOMLKit
import XCTest

@testable import Configuration

/// The recogniser every TOML loader runs first: what aborted the parser under TOMLKit is an error
/// with line and column; valid TOML, every file the repository ships among it, passes and parses.
final class TOMLSyntaxTests: XCTestCase {
    /// The first seven made toml++ abort the whole process (`serve --scenario` on them, before this
    /// check: SIGABRT); the last three it reports. Each must be an error at the place shown.
    func testDocumentsThatAbortedTheParserAreErrors() {
        let cases: [(String, Int, Int)] = [
            ("[[[", 1, 3), ("[[[a]]]", 1, 3), ("[[ [a]]", 1, 4), ("x = 1\n[[[b", 2, 3), ("[[\n", 1, 3), ("[\n", 1, 2),
            ("a = { b = [ }", 1, 13),
            ("a = [1,\n", 2, 1), ("a = {", 1, 6), ("a = { b = 1,\n c = 2 }", 1, 13),
        ]
        for (text, line, column) in cases {
            XCTAssertThrowsError(try TOMLSyntax.check(text), text.debugDescription) { error in
                let e = error as? TOMLSyntaxError
                XCTAssertEqual(e?.line, line, "\(text.debugDescription): \(error)")
                XCTAssertEqual(e?.column, column, "\(text.debugDescription): \(error)")
            }
        }
    }

    func testOtherMalformedDocumentsAreErrors() {
        for text in [
            "a = 1 b = 2", "a = \"x", "a = \"x\ny\"", "a = '''x", "a = \"\\q\"", "a = \"\\u12\"", "\"\"\"k\"\"\" = 1",
            "a =", "= 1", "[a", "[[a]", "[a]]", "a = [1 2]", "a = { b }", "a.\n= 1", "a = 1\r", "a = \"\u{1}\"",
        ] {
            XCTAssertThrowsError(try TOMLSyntax.check(text), text.debugDescription)
        }
        XCTAssertThrowsError(
            try TOMLSyntax.check(
                String(repeating: "a = [", count: 1) + String(repeating: "[", count: 100)
                    + String(repeating: "]", count: 101)))
        XCTAssertThrowsError(try TOMLSyntax.checkValue("1 2"))
        XCTAssertThrowsError(try TOMLSyntax.checkValue("[1,"))
    }

    func testValidTOMLPassesAndParses() throws {
        let documents = [
            "", "# only a comment\n", "a = 1\n",
            "a = -1_000\nb = +1.5e-3\nc = inf\nd = -nan\ne = 0x1F\nf = 0o7\ng = 0b1\n",
            "a = true\nb = false\n",
            "a = 1979-05-27T07:32:00-08:00\nb = 1979-05-27 07:32:00Z\nc = 07:32:00.999\nd = 1979-05-27\n",
            "a = \"é \\u00e9 \\U0001F600 \\\" \\\\ \\t\"\nb = 'C:\\path'\n",
            "a = \"\"\"\nline\\\n   more \"quoted\" \"\"\"\"\n",
            "a = '''it's '' fine'''\n", "\"a b\" = 1\n'c' = 2\nd.e . f = 3\n",
            "[t]\nx = 1\n[t.u]\ny = 2\n[[arr]]\nz = 1\n[[arr]]\nz = 2\n",
            "a = [ [1, 2], [\"x\"], [], [ { b = 1 } ] ]\n", "a = [\n  1, # one\n  2,\n]\n",
            "a = { b = 1, c = { d = \"x\" }, e = [1] }\n",
            "a = 1 # trailing\r\nb = 2\r\n", "  [ t ]  # header with spaces\n",
        ]
        for text in documents {
            XCTAssertNoThrow(try TOMLSyntax.check(text), text.debugDescription)
            XCTAssertNoThrow(try TOMLTable(string: text), text.debugDescription)
        }
        for value in ["1", "\"eigen\"", "[10, 20]", "{ a = 1 }", "1979-05-27 07:32:00Z"] {
            XCTAssertNoThrow(try TOMLSyntax.checkValue(value), value)
        }
    }

    /// Every scenario and hardware profile in the repository.
    func testEveryShippedFilePasses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var checked = 0
        for folder in ["launch/scenarios", "hwprofiles"] {
            let dir = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".toml") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                XCTAssertNoThrow(try TOMLSyntax.check(text), "\(folder)/\(name)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 5)
    }
}
