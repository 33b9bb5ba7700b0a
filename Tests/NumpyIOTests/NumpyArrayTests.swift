import Foundation
import Numerics
import NumpyIO
import XCTest

/// `.npy` reading and writing against files NumPy itself wrote (Fixtures/, made by
/// Fixtures/make_fixtures.py with NumPy 2.4) and against hand-built malformed files. (The
/// channel tensor's (N_sc, K, N_r, N_t) mapping is tested in RadioTests/ChannelTensorNumpyTests.)
final class NumpyArrayTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "NumpyArrayTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Helpers

    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures")

    private func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    private func fixtureBytes(_ name: String) throws -> Data {
        try XCTUnwrap(FileManager.default.contents(atPath: fixture(name)), "fixture \(name) missing")
    }

    private func temp(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The value make_fixtures.py stores at [n, k, r, t].
    private func fixtureValue(_ n: Int, _ k: Int, _ r: Int, _ t: Int) -> Complex<Float> {
        Complex(Float(n * 1000 + k * 100 + r * 10 + t), Float(t - r) - 0.5 * Float(n))
    }

    /// The channel fixtures' array: shape (3, 2, 4, 2), values in C order.
    private func fixtureArray() -> NumpyArray {
        var values = [Complex<Float>]()
        for n in 0..<3 {
            for k in 0..<2 { for r in 0..<4 { for t in 0..<2 { values.append(fixtureValue(n, k, r, t)) } } }
        }
        return NumpyArray(shape: [3, 2, 4, 2], complex: values)
    }

    /// Little-endian bytes of complex64 values, built from bit patterns (not from memory layout).
    private func complex64Bytes(_ values: [Complex<Float>]) -> [UInt8] {
        values.flatMap { z in
            [z.real, z.imaginary].flatMap { f in (0..<4).map { UInt8((f.bitPattern >> (8 * $0)) & 0xFF) } }
        }
    }

    /// A `.npy` file by hand: magic, version, little-endian header length (2 bytes for v1, 4 for
    /// v2/v3), the header text, the payload. `declaredLength` overrides the header length field.
    private func npy(_ header: String, version: UInt8 = 1, payload: [UInt8] = [], declaredLength: Int? = nil) -> Data {
        let text = Array(header.utf8)
        let length = declaredLength ?? text.count
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let lengthBytes = version == 1 ? 2 : 4
        bytes += (0..<lengthBytes).map { UInt8((length >> (8 * $0)) & 0xFF) }
        return Data(bytes + text + payload)
    }

    private func header(descr: String = "<c8", fortran: String = "False", shape: String) -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }\n"
    }

    private func assertThrows(
        _ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line,
        _ matches: (NumpyError) -> Bool
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? NumpyError else {
                return XCTFail("not a NumpyError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(matches(e), "unexpected error \(e)", file: file, line: line)
        }
    }

    // MARK: - Round trip

    func testComplexRoundTrip() throws {
        // Distinct value at every index, awkward sizes so a swapped axis cannot go unnoticed.
        let a = NumpyArray(
            shape: [5, 3, 4, 2], complex: (0..<120).map { Complex(Float($0) * 0.25 - 3, -Float($0 * $0) / 7) })
        let path = temp("round.npy")
        try a.write(to: path)
        XCTAssertEqual(try NumpyArray.read(path: path), a)
    }

    func testRealRoundTrip() throws {
        let a = NumpyArray(shape: [7], real: (0..<7).map { Float($0) / 3 - 1 })
        let path = temp("real.npy")
        try a.write(to: path)
        XCTAssertEqual(try NumpyArray.read(path: path), a)
    }

    // MARK: - NumPy-written fixtures

    func testLoadsNumpyFixture() throws {
        let array = try NumpyArray.read(path: fixture("channels_3x2x4x2.npy"))
        XCTAssertEqual(array.shape, [3, 2, 4, 2])
        XCTAssertEqual(array.dtype, .complex64)
        XCTAssertEqual(array.complexValues.first, Complex(0, 0))
        XCTAssertEqual(array.complexValues[((2 * 2 + 1) * 4 + 3) * 2 + 0], Complex(2130, -4))
        XCTAssertEqual(array.complexValues[((1 * 2 + 0) * 4 + 2) * 2 + 1], Complex(1021, -1.5))
        XCTAssertEqual(array, fixtureArray())
    }

    /// Our writer produces exactly NumPy's bytes (same header text, padding and data).
    func testEncodedBytesEqualNumpy() throws {
        let ours = fixtureArray().encoded()
        let numpy = try fixtureBytes("channels_3x2x4x2.npy")
        XCTAssertEqual(ours.count, numpy.count)
        XCTAssertEqual(Array(ours), Array(numpy))
        // And the file written to disk is the same.
        let path = temp("ours.npy")
        try fixtureArray().write(to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), numpy)
    }

    func testFloat32EncodedBytesEqualNumpy() throws {
        let ours = NumpyArray(shape: [2, 3], real: (0..<6).map { Float($0) / 4 })
        XCTAssertEqual(Array(ours.encoded()), Array(try fixtureBytes("real_2x3.npy")))
        XCTAssertEqual(try NumpyArray.read(path: fixture("real_2x3.npy")), ours)
    }

    func testComplex128FixtureIsNarrowed() throws {
        XCTAssertEqual(try NumpyArray.read(path: fixture("channels_3x2x4x2_c16.npy")), fixtureArray())
    }

    func testVersion2Fixture() throws {
        XCTAssertEqual(try fixtureBytes("channels_3x2x4x2_v2.npy")[6], 2, "fixture must be format 2.0")
        XCTAssertEqual(try NumpyArray.read(path: fixture("channels_3x2x4x2_v2.npy")), fixtureArray())
    }

    /// Hand-built '<c16' in a version 2.0 and a version 3.0 header.
    func testHandBuiltComplex128Version2And3() throws {
        let values: [Complex<Double>] = [Complex(1.5, -2), Complex(1e-3, 3), Complex(-7, 0.25)]
        let payload = values.flatMap { z in
            [z.real, z.imaginary].flatMap { d in (0..<8).map { UInt8((d.bitPattern >> (8 * $0)) & 0xFF) } }
        }
        for version: UInt8 in [2, 3] {
            let data = npy(header(descr: "<c16", shape: "(3,)"), version: version, payload: payload)
            let a = try NumpyArray.read(path: "mem", data: data)
            XCTAssertEqual(a.shape, [3])
            XCTAssertEqual(a.dtype, .complex64)
            XCTAssertEqual(a.complexValues, values.map { Complex(Float($0.real), Float($0.imaginary)) })
        }
    }

    func testHandBuiltFloat64() throws {
        let payload = [0.5, -2.25].flatMap { d in (0..<8).map { UInt8((d.bitPattern >> (8 * $0)) & 0xFF) } }
        let a = try NumpyArray.read(path: "mem", data: npy(header(descr: "<f8", shape: "(1, 2)"), payload: payload))
        XCTAssertEqual(a.dtype, .float32)
        XCTAssertEqual(a.shape, [1, 2])
        XCTAssertEqual(a.realValues, [0.5, -2.25])
    }

    // MARK: - Malformed input: the right error, never a crash

    func testBadMagic() {
        var wrong = npy(header(shape: "(1,)"), payload: complex64Bytes([.one]))
        wrong[5] = UInt8(ascii: "X") // \x93NUMPX
        assertThrows(try NumpyArray.read(path: "m", data: wrong)) { $0 == .badMagic(path: "m") }
        var first = npy(header(shape: "(1,)"), payload: complex64Bytes([.one]))
        first[0] = 0x92
        assertThrows(try NumpyArray.read(path: "m", data: first)) { $0 == .badMagic(path: "m") }
        assertThrows(try NumpyArray.read(path: "m", data: Data())) { $0 == .badMagic(path: "m") }
        assertThrows(try NumpyArray.read(path: "m", data: Data([0x93, 0x4E, 0x55]))) { $0 == .badMagic(path: "m") }
    }

    func testUnsupportedVersion() {
        for v: UInt8 in [0, 4, 255] {
            let data = npy(header(shape: "(1,)"), version: v, payload: complex64Bytes([.one]))
            assertThrows(try NumpyArray.read(path: "m", data: data)) { $0 == .unsupportedVersion(path: "m", major: v) }
        }
    }

    func testTruncatedHeader() {
        // Declared header length runs past the end of the file.
        let data = npy(header(shape: "(1,)"), declaredLength: 500)
        assertThrows(try NumpyArray.read(path: "m", data: data)) {
            if case .badHeader(path: "m", _) = $0 { return true }
            return false
        }
        // Version 2 file cut inside its 4-byte length field.
        let cut = Data([0x93] + Array("NUMPY".utf8) + [2, 0, 0x10, 0])
        assertThrows(try NumpyArray.read(path: "m", data: cut)) {
            if case .badHeader = $0 { return true }
            return false
        }
    }

    func testHeaderWithoutShape() {
        let data = npy("{'descr': '<c8', 'fortran_order': False, }\n", payload: complex64Bytes([.one]))
        assertThrows(try NumpyArray.read(path: "m", data: data)) {
            if case .badHeader(_, let reason) = $0 { return reason.contains("shape") }
            return false
        }
    }

    func testMalformedShapeEntries() {
        for shape in ["(2, -3)", "(2, x)", "[2, 3]"] {
            let data = npy(header(shape: shape), payload: [])
            assertThrows(try NumpyArray.read(path: "m", data: data)) {
                if case .badHeader = $0 { return true }
                return false
            }
        }
    }

    /// Shapes whose element or byte count overflows Int are a header error, not a trap.
    func testOverflowingShape() {
        for (descr, shape) in [("<c8", "(4294967296, 4294967296)"), ("<c16", "(1152921504606846976,)")] {
            let data = npy(header(descr: descr, shape: shape), payload: [])
            assertThrows(try NumpyArray.read(path: "m", data: data)) {
                if case .badHeader(path: "m", let reason) = $0 { return reason.contains("too large") }
                return false
            }
        }
    }

    func testWrongDType() {
        for descr in ["<i4", ">c8", "<c4"] {
            let data = npy(header(descr: descr, shape: "(2,)"), payload: Array(repeating: 0, count: 16))
            assertThrows(try NumpyArray.read(path: "m", data: data)) {
                if case .wrongDType(path: "m", found: descr, _) = $0 { return true }
                return false
            }
        }
    }

    func testFortranOrder() {
        let data = npy(
            header(fortran: "True", shape: "(2, 2)"), payload: complex64Bytes(Array(repeating: .one, count: 4)))
        assertThrows(try NumpyArray.read(path: "m", data: data)) { $0 == .fortranOrder(path: "m") }
    }

    func testWrongSize() {
        let short = npy(header(shape: "(2, 3)"), payload: complex64Bytes(Array(repeating: .one, count: 5)))
        assertThrows(try NumpyArray.read(path: "m", data: short)) {
            $0 == .wrongSize(path: "m", expectedBytes: 48, foundBytes: 40)
        }
        let long = npy(header(shape: "(2, 3)"), payload: complex64Bytes(Array(repeating: .one, count: 6)) + [0])
        assertThrows(try NumpyArray.read(path: "m", data: long)) {
            $0 == .wrongSize(path: "m", expectedBytes: 48, foundBytes: 49)
        }
    }

    func testMissingFile() {
        let path = temp("does-not-exist.npy")
        assertThrows(try NumpyArray.read(path: path)) {
            if case .unreadable(path: path, _) = $0 { return true }
            return false
        }
    }

    func testWriteIntoMissingDirectoryFails() {
        let path = temp("no/such/dir/x.npy")
        assertThrows(try NumpyArray(shape: [1], real: [1]).write(to: path)) {
            if case .unreadable(path: path, _) = $0 { return true }
            return false
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// Every error message names the file.
    func testDescriptionsNameThePath() {
        let errors: [NumpyError] = [
            .unreadable(path: "f.npy", reason: "r"), .badMagic(path: "f.npy"),
            .unsupportedVersion(path: "f.npy", major: 9),
            .badHeader(path: "f.npy", reason: "r"), .wrongDType(path: "f.npy", found: "<i4", expected: "e"),
            .fortranOrder(path: "f.npy"), .wrongShape(path: "f.npy", found: [1], expected: "e"),
            .wrongSize(path: "f.npy", expectedBytes: 1, foundBytes: 2), .nonFinite(path: "f.npy", index: 3),
        ]
        for e in errors { XCTAssertTrue(e.description.hasPrefix("f.npy: "), e.description) }
    }
}
