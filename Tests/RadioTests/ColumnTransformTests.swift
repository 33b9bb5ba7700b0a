import Randomness
import XCTest

@testable import Radio

/// `ColumnTransform.apply` against a scalar transcription of its documented order (per row, the
/// inputs' fused multiply-adds one after another), bit for bit, and against a Double product to
/// float accuracy. Counts of 7 and 9 columns take the four-column loop and its tail.
final class ColumnTransformTests: XCTestCase {
    func testApplyIsTheScalarOrderBitForBitAndTheProductToFloatAccuracy() {
        for (rows, inputs, count) in [(4, 16, 7), (4, 4, 9), (6, 3, 7), (16, 4, 5), (9, 16, 9)] {
            check(rows: rows, inputs: inputs, count: count)
        }
    }

    func check(rows: Int, inputs: Int, count: Int) {
        let nsc = 3
        let stride = inputs + 2 // columns spaced wider than their inputs, as the combiner's are not
        var g = SeededGenerator(seed: UInt64(1000 * rows + 10 * inputs + count))
        func uniform() -> Float { Float(g.next() % 2_000_001) / 1e6 - 1 }
        let entries = (0..<(nsc * rows * inputs)).map { _ in (uniform(), uniform()) }
        let transform = ColumnTransform(
            subcarriers: nsc, rows: rows, inputs: inputs, lsb: [Float](repeating: 1, count: nsc)
        ) { n, r, a in
            entries[(n * rows + r) * inputs + a]
        }
        let x = (0..<(2 * stride * count)).map { _ in uniform() }
        for n in 0..<nsc {
            var out = [Float](repeating: .nan, count: 2 * rows * count)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer {
                    transform.apply(
                        subcarrier: n, x: xp.baseAddress!, stride: stride, count: count, into: $0.baseAddress!)
                }
            }
            for t in 0..<count {
                for r in 0..<rows {
                    var re: Float = 0
                    var im: Float = 0
                    var exact = (0.0, 0.0)
                    for a in 0..<inputs {
                        let (gr, gi) = entries[(n * rows + r) * inputs + a]
                        let (xr, xi) = (x[2 * (t * stride + a)], x[2 * (t * stride + a) + 1])
                        if inputs == 4, a == 0 {
                            re = gr * xr
                            im = gr * xi
                        } else {
                            re = re.addingProduct(gr, xr)
                            im = im.addingProduct(gr, xi)
                        }
                        re = re.addingProduct(gi, -xi)
                        im = im.addingProduct(gi, xr)
                        exact.0 += Double(gr) * Double(xr) - Double(gi) * Double(xi)
                        exact.1 += Double(gr) * Double(xi) + Double(gi) * Double(xr)
                    }
                    let (gotRe, gotIm) = (out[2 * (t * rows + r)], out[2 * (t * rows + r) + 1])
                    let place = "\(rows) × \(inputs), subcarrier \(n), column \(t), row \(r)"
                    XCTAssertEqual(gotRe.bitPattern, re.bitPattern, place)
                    XCTAssertEqual(gotIm.bitPattern, im.bitPattern, place)
                    XCTAssertEqual(Double(gotRe), exact.0, accuracy: 1e-5 * Double(inputs), place)
                    XCTAssertEqual(Double(gotIm), exact.1, accuracy: 1e-5 * Double(inputs), place)
                }
            }
        }
    }
}
