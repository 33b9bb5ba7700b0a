import Randomness
import XCTest

@testable import Radio

/// The exact sum's kernels against a scalar reference written here: each contribution's rows are
/// the fused multiply-adds of `ColumnTransform.product`, in its order, rounded to the LSB grid,
/// and summed as integers. N_r = 16 with four inputs takes the sixteen-lane kernel, up to four
/// rows (the combiner's space) the few-rows kernel (its imaginary parts' two products in the other
/// order), N_r = 6 and N_r = 16 with three inputs the general one; every one must give exactly the
/// reference, and so
/// must `values` (eight rows at a time when N_r is a multiple of 8, one by one otherwise).
final class ExactAccumulatorTests: XCTestCase {
    func testEveryKernelIsTheScalarReferenceBitForBit() throws {
        for (rows, inputs) in [(16, 4), (6, 4), (16, 3), (15, 4), (4, 4), (2, 4), (3, 2), (1, 1)] {
            try check(rows: rows, inputs: inputs)
        }
    }

    func check(rows: Int, inputs: Int) throws {
        let nsc = 5
        let columns = 7
        let devices = 3
        var g = SeededGenerator(seed: UInt64(100 * rows + inputs))
        func uniform() -> Float { Float(g.next() % 2_000_001) / 1e6 - 1 }
        let lsb = (0..<nsc).map { Float(sign: .plus, exponent: -20 - $0, significand: 1) }
        let entries = (0..<devices).map { _ in (0..<(nsc * rows * inputs)).map { _ in (uniform(), uniform()) } }
        let gs = entries.map { e in
            ColumnTransform(subcarriers: nsc, rows: rows, inputs: inputs, lsb: lsb) { n, r, a in
                e[(n * rows + r) * inputs + a]
            }
        }
        // Two batches over overlapping columns (1..<5, then 3..<7), so both fresh and summed columns occur.
        let batches = [(first: 1, count: 4), (first: 3, count: 4)]
        let samples = batches.map { b in
            (0..<devices).map { _ in (0..<(2 * b.count * nsc * inputs)).map { _ in uniform() } }
        }
        let sum = ExactAccumulator(subcarriers: nsc, rows: rows, columns: columns, lsb: lsb)
        for (b, batch) in batches.enumerated() {
            StreamingReceiver.withPointers(samples[b].map { ReceivedSamples.floats($0) }[...]) { xs in
                sum.add(gs, samples: xs, first: batch.first, count: batch.count, band: 0..<2)
                sum.add(gs, samples: xs, first: batch.first, count: batch.count, band: 2..<nsc)
            }
        }
        // The reference: integers per (n, t, part, row).
        var expected = [Double](repeating: 0, count: nsc * columns * 2 * rows)
        for (b, batch) in batches.enumerated() {
            for d in 0..<devices {
                for n in 0..<nsc {
                    for t in 0..<batch.count {
                        for r in 0..<rows {
                            let x = samples[b][d]
                            let column = 2 * (t * nsc + n) * inputs
                            var re: Float = 0
                            var im: Float = 0
                            for a in 0..<inputs {
                                let (gr, gi) = entries[d][(n * rows + r) * inputs + a]
                                let (pr, pi) = (gr / lsb[n], gi / lsb[n])
                                let (xr, xi) = (x[column + 2 * a], x[column + 2 * a + 1])
                                if rows <= 4 {
                                    // The few-rows kernel: the imaginary part's two products the other way round.
                                    if a == 0 {
                                        re = pr * xr
                                        im = pi * xr
                                    } else {
                                        re = re.addingProduct(pr, xr)
                                        im = im.addingProduct(pi, xr)
                                    }
                                    re = re.addingProduct(-pi, xi)
                                    im = im.addingProduct(pr, xi)
                                    continue
                                }
                                if a == 0 {
                                    re = pr * xr
                                    im = pr * xi
                                } else {
                                    re = re.addingProduct(pr, xr)
                                    im = im.addingProduct(pr, xi)
                                }
                                re = re.addingProduct(pi, -xi)
                                im = im.addingProduct(pi, xr)
                            }
                            let o = ((n * columns + batch.first + t) * 2) * rows + r
                            expected[o] += Double(re.rounded(.toNearestOrEven))
                            expected[o + rows] += Double(im.rounded(.toNearestOrEven))
                        }
                    }
                }
            }
        }
        for n in 0..<nsc {
            for t in 0..<columns {
                for part in 0..<2 {
                    for r in 0..<rows {
                        let got = sum.storage[sum.offset(subcarrier: n, column: t) + part * sum.paddedRows + r]
                        let written = sum.written[n * columns + t]
                        XCTAssertEqual(
                            written ? got : 0, expected[((n * columns + t) * 2 + part) * rows + r],
                            "N_r \(rows), \(inputs) inputs: subcarrier \(n), column \(t), part \(part), row \(r)")
                    }
                }
            }
        }
        // values(): each integer sum rounded once to Float and scaled by the LSB, interleaved complex.
        for n in 0..<nsc {
            var out = [Float](repeating: .nan, count: 2 * rows * columns)
            out.withUnsafeMutableBufferPointer { sum.values(subcarrier: n, into: $0.baseAddress!) }
            for t in 0..<columns {
                for part in 0..<2 {
                    for r in 0..<rows {
                        let integer =
                            sum.written[n * columns + t] ? expected[((n * columns + t) * 2 + part) * rows + r] : 0
                        XCTAssertEqual(
                            out[2 * (t * rows + r) + part].bitPattern, (Float(integer) * lsb[n]).bitPattern,
                            "values: N_r \(rows), subcarrier \(n), column \(t), part \(part), row \(r)")
                    }
                }
            }
        }
    }
}
