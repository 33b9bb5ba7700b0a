import Foundation
import NumpyIO
import XCTest

@testable import LanguageModel

final class GGUFTests: XCTestCase {
    var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }
    var fixturePath: String { fixtures.appendingPathComponent("tensors.gguf").path }

    func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    /// The fixture was written by llama.cpp's `gguf` Python package (Fixtures/make_gguf_fixtures.py).
    func testReadsMetadataOfEveryType() throws {
        let f = try GGUFFile(path: fixturePath)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(f.metadata["general.name"]?.string, "fixture")
        XCTAssertEqual(f.metadata["llama.block_count"], .uint32(2))
        XCTAssertEqual(f.metadata["llama.rope.freq_base"], .float32(100000))
        XCTAssertEqual(f.metadata["fixture.flag"], .bool(true))
        XCTAssertEqual(f.metadata["fixture.i64"], .int64(-1_234_567_890_123))
        XCTAssertEqual(f.metadata["fixture.u64"], .uint64(1_234_567_890_123))
        XCTAssertEqual(f.metadata["fixture.i8"], .int8(-5))
        XCTAssertEqual(f.metadata["fixture.u16"], .uint16(65000))
        XCTAssertEqual(f.metadata["fixture.i32"], .int32(-70000))
        XCTAssertEqual(f.metadata["fixture.f64"], .float64(3.141592653589793))
        XCTAssertEqual(f.metadata["fixture.strings"]?.strings, ["a", "bé", "<|im_end|>"])
        XCTAssertEqual(f.metadata["fixture.ints"]?.array?.compactMap(\.int), [1, -2, 3])
        XCTAssertEqual(f.tensors.map(\.name), ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"])
        XCTAssertEqual(f.tensor("f32")?.dims, [5, 3])
        XCTAssertEqual(f.tensor("q4_1")?.dims, [96, 4])
        XCTAssertEqual(f.tensor("q4_1")?.type, .q4_1)
        XCTAssertEqual(f.tensor("q8_0")?.byteCount, 4 * 2 * 34)
    }

    /// Dequantisation equals the `gguf` package's own, bit for bit.
    func testDequantisationMatchesTheGGUFPackage() throws {
        let f = try GGUFFile(path: fixturePath)
        for name in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"] {
            let expected = try NumpyArray.read(path: fixtures.appendingPathComponent("expected_\(name).npy").path)
            let ours = try f.floats(name)
            XCTAssertEqual(expected.shape.reversed(), f.tensor(name)!.dims, name)
            XCTAssertEqual(ours.count, expected.realValues.count, name)
            let worst = zip(ours, expected.realValues).map { abs($0 - $1) }.max() ?? 0
            XCTAssertEqual(worst, 0, "\(name): largest difference \(worst)")
        }
    }

    func testWriterRoundTrip() throws {
        var w = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")), ("a.u8", .uint8(7)), ("a.i8", .int8(-7)),
            ("a.u16", .uint16(700)),
            ("a.i16", .int16(-700)), ("a.u32", .uint32(70000)), ("a.i32", .int32(-70000)), ("a.f32", .float32(1.5)),
            ("a.bool", .bool(false)), ("a.u64", .uint64(1 << 40)), ("a.i64", .int64(-(1 << 40))),
            ("a.f64", .float64(-2.25)),
            ("a.strings", .array(.string, [.string("x"), .string("ÿ")])),
            ("a.floats", .array(.float32, [.float32(1), .float32(-1)])),
        ]
        for (k, v) in values { w.set(k, v) }
        let x = (0..<128).map { Float(sin(Double($0)) * 3) }
        try w.addTensor("t.f32", dims: [64, 2], floats: x)
        try w.addTensor("t.f16", dims: [128], floats: x, as: .f16)
        try w.addTensor("t.bf16", dims: [32, 4], floats: x, as: .bf16)
        try w.addTensor("t.q8_0", dims: [64, 2], floats: x, as: .q8_0)
        let source = try GGUFFile(path: fixturePath)
        let q41 = source.tensor("q4_1")!
        try w.addTensor("t.q4_1", dims: q41.dims, type: .q4_1, raw: Array(source.rawData(q41)))
        let path = temp("round.gguf")
        try w.write(to: path)

        let r = try GGUFFile(path: path)
        for (k, v) in values { XCTAssertEqual(r.metadata[k], v, k) }
        XCTAssertEqual(r.metadataKeys, values.map(\.0))
        XCTAssertEqual(try r.floats("t.f32"), x)
        XCTAssertEqual(try r.floats("t.f16"), x.map { Float(Float16($0)) })
        XCTAssertEqual(try r.floats("t.q4_1"), try source.floats("q4_1"))
        for (a, b) in zip(try r.floats("t.bf16"), x) { XCTAssertEqual(a, b, accuracy: abs(b) / 128 + 1e-30) }
        // Q8_0 (as ggml's reference quantiser: q from the exact d, d stored as f16): every element
        // within half a step plus 127 × the f16 rounding of d (≤ 127 · 2⁻¹¹ d).
        let q = try r.floats("t.q8_0")
        for blockStart in stride(from: 0, to: 128, by: 32) {
            let d = x[blockStart..<(blockStart + 32)].map { abs($0) }.max()! / 127
            for i in blockStart..<(blockStart + 32) { XCTAssertEqual(q[i], x[i], accuracy: d * (0.5 + 127.0 / 2048)) }
        }
        for t in r.tensors { XCTAssertEqual(t.fileOffset % 32, 0, t.name) }
    }

    /// Every truncation of a valid file, and every corrupted header field, is a GGUFError naming
    /// the file: never a crash.
    func testCorruptFilesAreClearErrors() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixturePath))
        let path = temp("bad.gguf")
        func expectError(_ data: Data, _ mentions: String? = nil, line: UInt = #line) {
            try? data.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try GGUFFile(path: path), line: line) { e in
                guard let g = e as? GGUFError else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(g.path, path, line: line)
                if let m = mentions { XCTAssertTrue(g.description.contains(m), g.description, line: line) }
            }
        }
        for n in stride(from: 0, to: bytes.count - 1, by: 7) where n < bytes.count - 60 { expectError(bytes.prefix(n)) }
        let source = try GGUFFile(path: fixturePath)
        let end = source.tensors.map { $0.fileOffset + $0.byteCount }.max()!
        expectError(bytes.prefix(end - 1), "truncated")
        var magic = bytes
        magic[0] = 0x00
        expectError(magic, "not a GGUF file")
        var version = bytes
        version[4] = 9
        expectError(version, "version 9")
        var count = bytes
        count.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        expectError(count, "tensor count")
        // The first metadata value type (after the 8-byte length and the key "general.architecture").
        var vtype = bytes
        vtype[24 + 8 + 20] = 99
        expectError(vtype, "unknown value type 99")
        expectError(Data(), "too short")
        XCTAssertThrowsError(try GGUFFile(path: temp("missing.gguf"))) {
            XCTAssertTrue("\($0)".contains("cannot open"))
        }
    }

    func testUnknownTensorTypeAndMisalignedOffset() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        try w.addTensor("a", dims: [4], floats: [1, 2, 3, 4])
        var bytes = w.encoded()
        // Tensor info: after header (24) + one kv: key (8 + 20) + type (4) + string (8 + 5).
        let info = 24 + 28 + 4 + 13
        let typeOffset = info + 8 + 1 + 4 + 8
        bytes[typeOffset] = 77
        let path = temp("t.gguf")
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try GGUFFile(path: path)) { XCTAssertTrue("\($0)".contains("ggml type 77"), "\($0)") }
        bytes[typeOffset] = 0
        bytes[typeOffset + 4] = 3 // data offset 3: not aligned
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try GGUFFile(path: path)) { XCTAssertTrue("\($0)".contains("not aligned"), "\($0)") }
    }
}
