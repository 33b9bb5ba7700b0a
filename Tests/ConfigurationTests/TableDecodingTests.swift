import Configuration
import Foundation
import TOMLKit
import XCTest

/// The table-decoding helpers through a real TOML decoder (the scenarios' own), on a small
/// table that uses every helper.
final class TableDecodingTests: XCTestCase {
    struct File: Decodable {
        var table = Table()
        enum CodingKeys: String, CodingKey, CaseIterable { case table }
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&table, forKey: .table)
        }
    }

    struct Table: Decodable {
        enum Mode: String, CaseIterable { case fast, slow, careful }
        var rate = 1.5
        var rates = [0.5]
        var count = 3
        var mode = Mode.fast
        var inner = Inner()

        enum CodingKeys: String, CodingKey, CaseIterable { case rate, rates, count, mode, inner }

        init() {}

        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&rate, forKey: .rate)
            rates = try c.decodeNumbersIfPresent(forKey: .rates) ?? rates
            try c.update(&count, forKey: .count)
            try c.updateChoice(&mode, forKey: .mode, path: "table.mode", choices: Mode.choices)
            try c.update(&inner, forKey: .inner)
        }
    }

    struct Inner: Decodable {
        var depth: Double? = nil
        enum CodingKeys: String, CodingKey, CaseIterable { case depth }
        init() {}
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
            depth = try decoder.container(keyedBy: CodingKeys.self).decodeNumberIfPresent(forKey: .depth)
        }
    }

    private func decode(_ toml: String) throws -> Table { try TOMLDecoder().decode(File.self, from: toml).table }

    private func configurationError(_ toml: String, file: StaticString = #filePath, line: UInt = #line)
        -> ConfigurationError?
    {
        do {
            _ = try decode(toml)
            XCTFail("decoded without an error", file: file, line: line)
        } catch let e as ConfigurationError {
            return e
        } catch {
            XCTFail("not a ConfigurationError: \(error)", file: file, line: line)
        }
        return nil
    }

    func testMissingKeysKeepTheirDefaults() throws {
        let t = try decode("[table]\n")
        XCTAssertEqual(t.rate, 1.5)
        XCTAssertEqual(t.rates, [0.5])
        XCTAssertEqual(t.count, 3)
        XCTAssertEqual(t.mode, .fast)
        XCTAssertNil(t.inner.depth)
        XCTAssertEqual(try decode("").count, 3)
    }

    func testUnknownKeyIsRejectedWithItsDottedPath() {
        let e = configurationError("[table]\nrate = 2.0\nbogus = 1\n")
        XCTAssertEqual(e?.key, "table.bogus")
        XCTAssertEqual(e?.problem, "unknown key (known: rate, rates, count, mode, inner)")
        XCTAssertEqual(e?.description, "table.bogus: unknown key (known: rate, rates, count, mode, inner)")
        // Nested tables carry the whole path; the top level has none.
        XCTAssertEqual(configurationError("[table.inner]\ndeep = 1.0\n")?.key, "table.inner.deep")
        XCTAssertEqual(configurationError("tabel = 1\n")?.key, "tabel")
        // Of several unknown keys the first in sorted order is named, whatever the file's order.
        XCTAssertEqual(configurationError("[table]\nzeta = 1\nalpha = 2\n")?.key, "table.alpha")
    }

    func testIntegerIsAcceptedAsReal() throws {
        // TOML's own decoder refuses an integer where a real is asked for: the reason for the helper.
        struct Strict: Decodable { var rate: Double }
        XCTAssertThrowsError(try TOMLDecoder().decode(Strict.self, from: "rate = 5\n"))
        let t = try decode("[table]\nrate = 5\nrates = [1, 2, 3]\n[table.inner]\ndepth = -2\n")
        XCTAssertEqual(t.rate, 5)
        XCTAssertEqual(t.rates, [1, 2, 3])
        XCTAssertEqual(t.inner.depth, -2)
        // Reals stay reals.
        let r = try decode("[table]\nrate = 2.5e-3\nrates = [0.25, 1e3]\n")
        XCTAssertEqual(r.rate, 2.5e-3)
        XCTAssertEqual(r.rates, [0.25, 1e3])
    }

    /// A value of the wrong type is the decoder's own error, whose path names the key (TOMLKit
    /// reports it as a key of that type not found, JSONDecoder as a type mismatch).
    func testWrongTypeIsADecodingErrorNamingTheKey() {
        func path(_ error: Error) -> String? {
            switch error as? DecodingError {
            case .typeMismatch(_, let c)?: return c.codingPath.map(\.stringValue).joined(separator: ".")
            case .keyNotFound(let key, let c)?: return (c.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            default: return nil
            }
        }
        for (toml, key) in [
            ("[table]\nrate = \"fast\"\n", "table.rate"), ("[table]\nrates = [\"a\"]\n", "table.rates"),
            ("[table]\ncount = 2.5\n", "table.count"), ("[table.inner]\ndepth = true\n", "table.inner.depth"),
        ] {
            XCTAssertThrowsError(try decode(toml), toml) { error in
                XCTAssertTrue(path(error)?.hasPrefix(key) == true, "\(error)")
            }
        }
        struct Wrapper: Decodable { var table: Table }
        XCTAssertThrowsError(try JSONDecoder().decode(Wrapper.self, from: Data(#"{"table": {"rate": "fast"}}"#.utf8))) {
            error in
            XCTAssertEqual(path(error), "table.rate", "\(error)")
        }
    }

    func testUpdateChoiceTakesANameAndItsErrorListsTheNames() throws {
        XCTAssertEqual(try decode("[table]\nmode = \"careful\"\n").mode, .careful)
        let e = configurationError("[table]\nmode = \"medium\"\n")
        XCTAssertEqual(e?.key, "table.mode")
        XCTAssertEqual(e?.problem, "must be fast, slow, careful; got 'medium'")
        // Names are exact: no case folding.
        XCTAssertEqual(configurationError("[table]\nmode = \"Fast\"\n")?.key, "table.mode")
    }

    func testChoicesListEveryCaseInOrder() {
        XCTAssertEqual(Table.Mode.choices.map(\.name), ["fast", "slow", "careful"])
        XCTAssertEqual(Table.Mode.choices.map(\.value), [.fast, .slow, .careful])
    }
}
