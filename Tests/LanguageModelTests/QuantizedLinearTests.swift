import CQuantizedKernels
import Randomness
import XCTest

@testable import LanguageModel

/// The quantized-block kernels: every instruction set this CPU has gives the same bits as plain C,
/// and the products equal, to float rounding, the dequantised weights (our GGUF reader's
/// dequantisation, a separate path) times the dequantised activations.
final class QuantizedLinearTests: XCTestCase {
    /// Random valid blocks of `type`: random quants, scales (and Q4_1 minima) in ±2^−4…2^−8.
    func randomMatrix(_ type: TensorType, rows: Int, inner: Int, _ g: inout SeededGenerator) -> [UInt8] {
        var raw = [UInt8]()
        for _ in 0..<(rows * inner / 32) {
            func half() -> [UInt8] {
                let v = Float16(Float(Int(g.next() % 2001) - 1000) / 1000 * 0.0625)
                return [UInt8(v.bitPattern & 0xFF), UInt8(v.bitPattern >> 8)]
            }
            raw += half()
            if type == .q4_1 { raw += half() }
            raw += (0..<(type == .q8_0 ? 32 : 16)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        }
        return raw
    }

    func randomFloats(_ n: Int, _ g: inout SeededGenerator) -> [Float] {
        (0..<n).map { _ in Float(Int(g.next() % 20001) - 10000) / 5000 }
    }

    /// y = x·Wᵀ through the kernels on `isa`, y starting at `start` when accumulating.
    func product(
        _ raw: [UInt8], _ type: TensorType, rows: Int, inner: Int, _ x: [Float], tokens: Int, isa: QuantizedISA,
        threads: Int = 1, accumulate: [Float]? = nil
    ) -> [Float] {
        var y = accumulate ?? [Float](repeating: .nan, count: tokens * rows)
        raw.withUnsafeBytes { w in
            let m = QuantizedMatrix(type: type, base: w.baseAddress!, rows: rows, inner: inner)
            let a = x.withUnsafeBufferPointer {
                QuantizedActivations($0.baseAddress!, rows: tokens, inner: inner, isa: isa)
            }
            y.withUnsafeMutableBufferPointer {
                a.linear(m, isa: isa, threads: threads, accumulate: accumulate != nil, into: $0.baseAddress!)
            }
        }
        return y
    }

    /// The first index where two results differ in any bit, nil when none does.
    func firstDifference(_ a: [Float], _ b: [Float]) -> String? {
        guard
            let i = a.indices.first(where: { $0 >= b.count || a[$0].bitPattern != b[$0].bitPattern })
                ?? (a.count == b.count ? nil : a.count)
        else { return nil }
        return i < min(a.count, b.count) ? "[\(i)]: \(a[i]) against \(b[i])" : "\(a.count) values against \(b.count)"
    }

    func testEveryInstructionSetGivesThePlainCBits() {
        var g = SeededGenerator(seed: 11, stream: [0x51])
        let isas = QuantizedISA.allCases.filter(\.isSupported)
        XCTAssertTrue(isas.contains(.scalar))
        // Odd block counts, rows and tokens that do not fill a tile or a group of 16, 33 tokens
        // (an odd last group), extreme quants (Q8_0's −128).
        for type in [TensorType.q4_0, .q4_1, .q8_0] {
            for (rows, inner, tokens) in [(13, 96, 7), (8, 64, 4), (130, 576, 33), (5, 32, 1), (6, 160, 16)] {
                let raw = randomMatrix(type, rows: rows, inner: inner, &g)
                let x = randomFloats(tokens * inner, &g)
                let reference = product(raw, type, rows: rows, inner: inner, x, tokens: tokens, isa: .scalar)
                XCTAssertFalse(reference.contains { !$0.isFinite })
                for isa in isas {
                    let y = product(raw, type, rows: rows, inner: inner, x, tokens: tokens, isa: isa)
                    XCTAssertNil(
                        firstDifference(y, reference), "\(type.name) \(rows)×\(inner), \(tokens) tokens on \(isa)")
                    let split = product(raw, type, rows: rows, inner: inner, x, tokens: tokens, isa: isa, threads: 2)
                    XCTAssertNil(firstDifference(split, reference), "\(type.name) on \(isa), two threads")
                    let start = randomFloats(tokens * rows, &g)
                    let summed = product(
                        raw, type, rows: rows, inner: inner, x, tokens: tokens, isa: isa, accumulate: start)
                    XCTAssertNil(
                        firstDifference(summed, zip(start, reference).map { $0 + $1 }),
                        "\(type.name) on \(isa), accumulating")
                }
            }
        }
        print("quantized kernels on this CPU: \(isas), best \(QuantizedISA.best)")
    }

    func testEveryInstructionSetQuantizesTheSameBytes() {
        var g = SeededGenerator(seed: 14, stream: [0x54])
        var x = randomFloats(19 * 96, &g)
        // Ties (x/d exactly k + ½) round to even; a zero block; a non-finite one.
        for i in 0..<32 {
            x[i] = Float(i % 7) - 3.5
            x[32 + i] = 0
        }
        x[0] = 127
        x[96 + 64 + 7] = .infinity
        let reference = x.withUnsafeBufferPointer {
            QuantizedActivations($0.baseAddress!, rows: 19, inner: 96, isa: .scalar)
        }.contents
        for isa in QuantizedISA.allCases where isa.isSupported {
            let c = x.withUnsafeBufferPointer { QuantizedActivations($0.baseAddress!, rows: 19, inner: 96, isa: isa) }
                .contents
            XCTAssertEqual(c.q, reference.q, "\(isa)")
            XCTAssertEqual(c.d, reference.d, "\(isa)")
            XCTAssertEqual(c.packed, reference.packed, "\(isa)")
        }
        // x[0] = 127 sets d = 1, so x[i] = (i mod 7) − 3.5 are ties: to even.
        XCTAssertEqual(Array(reference.q[0..<8]), [127, -2, -2, 0, 0, 2, 2, -4])
        XCTAssertEqual(Array(reference.q[32..<64]), [Int8](repeating: 0, count: 32))
    }

    func testProductsEqualTheDequantisedOperands() {
        var g = SeededGenerator(seed: 12, stream: [0x52])
        let rows = 37
        let inner = 160
        let tokens = 6
        for type in [TensorType.q4_0, .q4_1, .q8_0] {
            let raw = randomMatrix(type, rows: rows, inner: inner, &g)
            let x = randomFloats(tokens * inner, &g)
            var w = [Float](repeating: 0, count: rows * inner)
            raw.withUnsafeBytes { src in
                w.withUnsafeMutableBufferPointer {
                    type.dequantize(src.baseAddress!, count: rows * inner, into: $0.baseAddress!)
                }
            }
            let a = x.withUnsafeBufferPointer { QuantizedActivations($0.baseAddress!, rows: tokens, inner: inner) }
            let xq = a.dequantized()
            // Round to nearest: every activation within half a step of its block's scale.
            for b in 0..<(tokens * inner / 32) {
                let block = x[(b * 32)..<(b * 32 + 32)]
                let step = block.map(abs).max()! / 127
                for i in block.indices { XCTAssertLessThanOrEqual(abs(xq[i] - x[i]), step / 2 * 1.0001 + 1e-7) }
            }
            let y = product(raw, type, rows: rows, inner: inner, x, tokens: tokens, isa: .best)
            for t in 0..<tokens {
                for o in 0..<rows {
                    var exact = 0.0
                    var magnitude = 0.0
                    for i in 0..<inner {
                        exact += Double(w[o * inner + i]) * Double(xq[t * inner + i])
                        magnitude += abs(Double(w[o * inner + i]) * Double(xq[t * inner + i]))
                    }
                    XCTAssertEqual(
                        Double(y[t * rows + o]), exact, accuracy: 2e-6 * magnitude + 1e-9, "\(type.name) y[\(t)][\(o)]")
                }
            }
        }
    }

    func testANonFiniteActivationPoisonsOnlyItsToken() {
        var g = SeededGenerator(seed: 13, stream: [0x53])
        let raw = randomMatrix(.q4_1, rows: 8, inner: 64, &g)
        var x = randomFloats(3 * 64, &g)
        x[64 + 40] = .nan
        x[128 + 3] = .infinity
        let y = product(raw, .q4_1, rows: 8, inner: 64, x, tokens: 3, isa: .best)
        XCTAssertFalse(y[0..<8].contains { !$0.isFinite })
        XCTAssertTrue(y[8..<16].allSatisfy(\.isNaN))
        XCTAssertTrue(y[16..<24].allSatisfy { !$0.isFinite })
    }
}
