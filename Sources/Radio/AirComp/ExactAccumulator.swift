import Foundation
import Numerics

/// A sum of per-device contributions, per subcarrier and OFDM symbol, that is exact: the same
/// bits whatever order the contributions arrive in and however many threads add them.
///
/// Why: the base station superposes each device's frames as they arrive (`StreamingReceiver`),
/// and arrival order is up to the network. A float sum depends on its order; a seeded run must
/// not. So each contribution is rounded to a fixed grid, one LSB = `lsb[n]` (a power of two per
/// subcarrier, far below the signal: see `StreamingReceiver`), and summed as integers, which is
/// associative. The rounding is the model of a receiver front end of that resolution; its error,
/// ≤ LSB/2 per real, is ~2⁻²⁹ of the signal amplitude (float itself resolves 2⁻²⁴).
///
/// The integers are held in Doubles, which add integers below 2⁵³ exactly (and convert from
/// Float in one SIMD instruction, where Swift's Float → Int64 does not vectorise).
///
/// Layout (Double): element (n, t, part, r), part 0 = real and 1 = imaginary, at
/// `((n·S + t)·2 + part)·P + r`, P = `paddedRows` (rows rounded up to 8, one SIMD8 per 8 rows).
///
/// A class over one manually managed buffer so that workers may add into disjoint subcarrier
/// bands at once (a Swift array in a shared value would be one exclusive access).
public final class ExactAccumulator: @unchecked Sendable {
    public let subcarriers: Int
    public let rows: Int
    public let columns: Int
    public let paddedRows: Int
    /// One LSB per subcarrier (a power of two), in the contributions' units.
    public let lsb: [Float]
    let storage: UnsafeMutablePointer<Double>
    let count: Int
    /// Per (n, t): whether column t of subcarrier n holds a sum yet. The first contribution is
    /// stored rather than added, so the big buffer is never zeroed (a round's sum can be 100 MB).
    let written: UnsafeMutablePointer<Bool>

    /// The largest magnitude one contribution may have, in LSBs: 128 of them still sum exactly.
    public static let contributionLimit: Float = 0x1p46

    public init(subcarriers: Int, rows: Int, columns: Int, lsb: [Float]) {
        precondition(lsb.count == subcarriers, "one LSB per subcarrier")
        self.subcarriers = subcarriers
        self.rows = rows
        self.columns = columns
        paddedRows = (rows + 7) / 8 * 8
        self.lsb = lsb
        count = subcarriers * columns * 2 * paddedRows
        storage = AccumulatorPool.take(count)
        written = .allocate(capacity: subcarriers * columns)
        written.initialize(repeating: false, count: subcarriers * columns)
    }

    deinit {
        AccumulatorPool.give(storage, count: count)
        written.deallocate()
    }

    /// Bytes of the sum (what an accumulator of this shape costs, before it is made).
    public static func bytes(subcarriers: Int, rows: Int, columns: Int) -> Int {
        subcarriers * columns * 2 * ((rows + 7) / 8 * 8) * MemoryLayout<Double>.size
    }

    /// Offset of (n, t, real part, row 0).
    @inline(__always) func offset(subcarrier n: Int, column t: Int) -> Int { (n * columns + t) * 2 * paddedRows }

    /// The sum on subcarrier n as complex64, `rows × S` column-major into `out` (Float(sum) · LSB:
    /// one rounding, the same for every order of the contributions).
    public func values(subcarrier n: Int, into out: UnsafeMutablePointer<Float>) {
        let scale = lsb[n]
        let p = storage
        for t in 0..<columns {
            let o = offset(subcarrier: n, column: t)
            guard written[n * columns + t] else {
                for i in 0..<(2 * rows) { out[2 * t * rows + i] = 0 }
                continue
            }
            guard rows == paddedRows else {
                for r in 0..<rows {
                    out[2 * (t * rows + r)] = Float(p[o + r]) * scale
                    out[2 * (t * rows + r) + 1] = Float(p[o + paddedRows + r]) * scale
                }
                continue
            }
            // Eight rows at a time, the same roundings (Double → Float, then × a power of two).
            let from = UnsafeRawPointer(p + o)
            let to = UnsafeMutableRawPointer(out + 2 * t * rows)
            for c in Swift.stride(from: 0, to: rows, by: 8) {
                let re = SIMD8<Float>(from.loadUnaligned(fromByteOffset: 8 &* c, as: SIMD8<Double>.self)) * scale
                let im =
                    SIMD8<Float>(from.loadUnaligned(fromByteOffset: 8 &* (c &+ paddedRows), as: SIMD8<Double>.self))
                    * scale
                var pair = SIMD16<Float>()
                pair.evenHalf = re
                pair.oddHalf = im
                to.storeBytes(of: pair, toByteOffset: 8 &* c, as: SIMD16<Float>.self)
            }
        }
    }

    /// The whole sum as `SubcarrierBlocks` (rows × S per subcarrier).
    public func blocks() -> SubcarrierBlocks {
        var out = SubcarrierBlocks(subcarriers: subcarriers, rows: rows, columns: columns)
        out.elements.withUnsafeMutableBufferPointer { p in
            let floats = UnsafeMutableRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self)
            for n in 0..<subcarriers { values(subcarrier: n, into: floats + 2 * n * rows * columns) }
        }
        return out
    }
}

extension ExactAccumulator {
    /// sum[n][:, first + t] += Σ_d round(G_d[n] · x_d[n, t]) for n in `band`, t in 0..<count: a
    /// batch of frames over the same OFDM symbols (from different devices), each contribution
    /// rounded on its own, so the result is the same as adding them one by one in any order; the
    /// batch only saves the sum's memory traffic.
    ///
    /// `x_d` is interleaved complex in the wire's order: input a of subcarrier n at OFDM symbol t
    /// is at ((t·N_sc + n)·inputs + a). The caller has checked |x_d| · G_d.bound <
    /// `contributionLimit` (else the sum would not be exact).
    public func add(
        _ gs: [ColumnTransform], samples xs: [UnsafePointer<Float>], first: Int, count: Int, band: Range<Int>
    ) {
        precondition(gs.count == xs.count && first >= 0 && first + count <= columns)
        precondition(
            gs.allSatisfy { $0.subcarriers == subcarriers && $0.paddedRows == paddedRows && $0.inputs == gs[0].inputs })
        guard let inputs = gs.first?.inputs else { return }
        let p = paddedRows
        let nsc = subcarriers
        let sraw = UnsafeMutableRawPointer(storage)
        let devices = gs.count
        // Raw addresses, so the loops below retain nothing (shared refcounts would ping-pong between workers).
        let planes = gs.map { UnsafeRawPointer($0.planes.pointer) }
        defer { withExtendedLifetime(gs) {} }
        if p == 16, inputs == 4 {
            addSixteenByFour(planes, samples: xs, first: first, count: count, band: band)
            return
        }
        if p == 8, gs.allSatisfy({ $0.paired != nil }) {
            addFewRows(gs, samples: xs, first: first, count: count, band: band)
            return
        }
        for n in band {
            let flags = written + (n * columns + first)
            let base = offset(subcarrier: n, column: first)
            for c in 0..<(p / 8) {
                for t in 0..<count {
                    let so = (base &+ t &* 2 &* p &+ 8 &* c) &* 8
                    var re = flags[t] ? sraw.loadUnaligned(fromByteOffset: so, as: SIMD8<Double>.self) : SIMD8<Double>()
                    var im =
                        flags[t]
                        ? sraw.loadUnaligned(fromByteOffset: so &+ 8 &* p, as: SIMD8<Double>.self) : SIMD8<Double>()
                    let column = 2 &* (t &* nsc &+ n) &* inputs
                    for d in 0..<devices {
                        let (gr, gi) = ColumnTransform.product(
                            planes[d], paddedRows: p, inputs: inputs, subcarrier: n, chunk: c,
                            column: xs[d] + column)
                        re += SIMD8<Double>(gr.rounded(.toNearestOrEven))
                        im += SIMD8<Double>(gi.rounded(.toNearestOrEven))
                    }
                    sraw.storeBytes(of: re, toByteOffset: so, as: SIMD8<Double>.self)
                    sraw.storeBytes(of: im, toByteOffset: so &+ 8 &* p, as: SIMD8<Double>.self)
                }
            }
            for t in 0..<count { flags[t] = true }
        }
    }

    /// `add` for N_r = 16 (one 16-lane vector per column) and four inputs, the air's common case.
    /// Column by column, the batch's devices innermost: the column's sum (256 bytes) stays in
    /// registers while every device's contribution is added, so it is read and written once per
    /// batch rather than once per device; each device's G[n] (512 bytes) is read from L1.
    /// The same fused multiply-adds in the same order as `ColumnTransform.product`, lane for lane,
    /// and integer sums, so the same bits as the general loop.
    private func addSixteenByFour(
        _ planes: [UnsafeRawPointer], samples xs: [UnsafePointer<Float>], first: Int, count: Int, band: Range<Int>
    ) {
        let nsc = subcarriers
        let sraw = UnsafeMutableRawPointer(storage)
        let devices = planes.count
        @inline(__always) func wide(_ v: SIMD8<Float>) -> SIMD8<Double> { SIMD8<Double>(v) }
        for n in band {
            let flags = written + (n * columns + first)
            let base = offset(subcarrier: n, column: first) &* 8
            for t in 0..<count {
                // (n, t): real rows 0–7, 8–15, then imaginary rows 0–7, 8–15 (256 bytes).
                let so = base &+ 256 &* t
                let fresh = !flags[t]
                @inline(__always) func old(_ o: Int) -> SIMD8<Double> {
                    fresh ? SIMD8<Double>() : sraw.loadUnaligned(fromByteOffset: so &+ o, as: SIMD8<Double>.self)
                }
                var (re0, re1, im0, im1) = (old(0), old(64), old(128), old(192))
                for d in 0..<devices {
                    let g = planes[d] + 4 &* (n &* 128)
                    let x = xs[d] + 8 &* (n &+ t &* nsc)
                    @inline(__always) func load(_ a: Int, _ part: Int) -> SIMD16<Float> {
                        g.loadUnaligned(fromByteOffset: 64 &* (a &* 2 &+ part), as: SIMD16<Float>.self)
                    }
                    var re = load(0, 0) * x[0]
                    var im = load(0, 0) * x[1]
                    re = re.addingProduct(load(0, 1), -x[1])
                    im = im.addingProduct(load(0, 1), x[0])
                    re = re.addingProduct(load(1, 0), x[2])
                    im = im.addingProduct(load(1, 0), x[3])
                    re = re.addingProduct(load(1, 1), -x[3])
                    im = im.addingProduct(load(1, 1), x[2])
                    re = re.addingProduct(load(2, 0), x[4])
                    im = im.addingProduct(load(2, 0), x[5])
                    re = re.addingProduct(load(2, 1), -x[5])
                    im = im.addingProduct(load(2, 1), x[4])
                    re = re.addingProduct(load(3, 0), x[6])
                    im = im.addingProduct(load(3, 0), x[7])
                    re = re.addingProduct(load(3, 1), -x[7])
                    im = im.addingProduct(load(3, 1), x[6])
                    re = re.rounded(.toNearestOrEven)
                    im = im.rounded(.toNearestOrEven)
                    re0 += wide(re.lowHalf)
                    re1 += wide(re.highHalf)
                    im0 += wide(im.lowHalf)
                    im1 += wide(im.highHalf)
                }
                sraw.storeBytes(of: re0, toByteOffset: so, as: SIMD8<Double>.self)
                sraw.storeBytes(of: re1, toByteOffset: so &+ 64, as: SIMD8<Double>.self)
                sraw.storeBytes(of: im0, toByteOffset: so &+ 128, as: SIMD8<Double>.self)
                sraw.storeBytes(of: im1, toByteOffset: so &+ 192, as: SIMD8<Double>.self)
            }
            for t in 0..<count { flags[t] = true }
        }
    }

    /// `add` for at most four rows (the combiner's space: L ≤ 4 streams), any inputs. A column's
    /// four real and four imaginary parts are one 8-lane vector, [re 0–3 | im 0–3], and each input
    /// a adds P_a·x_r then Q_a·x_i (`ColumnTransform.paired`: P = (Gre | Gim), Q = (−Gim | Gre)),
    /// two fused multiply-adds on broadcast samples. Per row that is the real part Gre·x_r −
    /// Gim·x_i, as `ColumnTransform.product` computes it, and the imaginary part Gim·x_r + Gre·x_i,
    /// its two products in the other order: this kernel's own fixed order, which every sum of
    /// these shapes takes (`ExactAccumulatorTests` holds it to a scalar reference). The batch's
    /// devices innermost: the column's sum is read and written once per batch. Rows 4–7 of the
    /// layout's padding are never written (nor read).
    private func addFewRows(
        _ gs: [ColumnTransform], samples xs: [UnsafePointer<Float>], first: Int, count: Int, band: Range<Int>
    ) {
        let nsc = subcarriers
        let sraw = UnsafeMutableRawPointer(storage)
        let devices = gs.count
        let inputs = gs[0].inputs
        precondition(inputs >= 1 && rows <= 4, "the few-rows kernel takes at most four rows and at least one input")
        let paired = gs.map { UnsafeRawPointer($0.paired!.pointer) }
        for n in band {
            let flags = written + (n * columns + first)
            let base = offset(subcarrier: n, column: first) &* 8
            for t in 0..<count {
                // (n, t): real rows 0–7 (64 bytes), then imaginary rows 0–7; rows 0–3 used.
                let so = base &+ 128 &* t
                var sum = SIMD8<Double>()
                if flags[t] {
                    sum.lowHalf = sraw.loadUnaligned(fromByteOffset: so, as: SIMD4<Double>.self)
                    sum.highHalf = sraw.loadUnaligned(fromByteOffset: so &+ 64, as: SIMD4<Double>.self)
                }
                for d in 0..<devices {
                    let g = paired[d] + 64 &* (n &* inputs)
                    let x = xs[d] + 2 &* inputs &* (n &+ t &* nsc)
                    var acc = g.loadUnaligned(as: SIMD8<Float>.self) * x[0]
                    acc = acc.addingProduct(g.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), x[1])
                    for a in 1..<inputs {
                        acc = acc.addingProduct(
                            g.loadUnaligned(fromByteOffset: 64 &* a, as: SIMD8<Float>.self), x[2 &* a])
                        acc = acc.addingProduct(
                            g.loadUnaligned(fromByteOffset: 64 &* a &+ 32, as: SIMD8<Float>.self), x[2 &* a &+ 1])
                    }
                    sum += SIMD8<Double>(acc.rounded(.toNearestOrEven))
                }
                sraw.storeBytes(of: sum.lowHalf, toByteOffset: so, as: SIMD4<Double>.self)
                sraw.storeBytes(of: sum.highHalf, toByteOffset: so &+ 64, as: SIMD4<Double>.self)
            }
            for t in 0..<count { flags[t] = true }
        }
    }

    /// sum[n][:, t] += round(G[n][:, l] · v) for each entry (n, t, l, v): single symbols of a
    /// device's intended block (rank-1 terms, so any split of a block into runs sums the same).
    public func addEntries(
        _ g: ColumnTransform, band: Range<Int>,
        entries: (_ body: (_ n: Int, _ t: Int, _ l: Int, _ v: (Float, Float)) -> Void) -> Void
    ) {
        precondition(g.subcarriers == subcarriers && g.paddedRows == paddedRows)
        let p = paddedRows
        let chunks = p / 8
        let inputs = g.inputs
        let graw = UnsafeRawPointer(g.planes.pointer)
        let sraw = UnsafeMutableRawPointer(storage)
        entries { n, t, l, v in
            guard band.contains(n) else { return }
            let so = offset(subcarrier: n, column: t)
            let fresh = !written[n * columns + t]
            written[n * columns + t] = true
            for c in 0..<chunks {
                let o = ((n * inputs + l) * 2 * p + 8 * c) * 4
                let gr = graw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                let gi = graw.loadUnaligned(fromByteOffset: o + 4 * p, as: SIMD8<Float>.self)
                let re = (gr * v.0).addingProduct(gi, -v.1)
                let im = (gr * v.1).addingProduct(gi, v.0)
                Self.accumulate(re, into: sraw, byteOffset: (so + 8 * c) * 8, fresh: fresh)
                Self.accumulate(im, into: sraw, byteOffset: (so + p + 8 * c) * 8, fresh: fresh)
            }
        }
    }

    /// Eight integer lanes += round-to-nearest-even(v); `fresh`: the lanes hold nothing yet (0 + q,
    /// so a −0 is stored as +0, exactly as the sum from zero would be).
    @inline(__always) static func accumulate(
        _ v: SIMD8<Float>, into base: UnsafeMutableRawPointer, byteOffset: Int, fresh: Bool
    ) {
        let q = SIMD8<Double>(v.rounded(.toNearestOrEven))
        let old = fresh ? SIMD8<Double>() : base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Double>.self)
        base.storeBytes(of: old + q, toByteOffset: byteOffset, as: SIMD8<Double>.self)
    }
}

/// The buffers of finished accumulators, kept for the next round's: a fresh buffer of a round's
/// size (tens of MB) would cost its page faults again every round.
enum AccumulatorPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [(count: Int, pointer: UnsafeMutablePointer<Double>)] = []
    /// Buffers kept at most (a round uses up to three).
    static let kept = 4

    static func take(_ count: Int) -> UnsafeMutablePointer<Double> {
        lock.lock()
        defer { lock.unlock() }
        if let i = free.firstIndex(where: { $0.count == count }) { return free.remove(at: i).pointer }
        return .allocate(capacity: count)
    }

    static func give(_ pointer: UnsafeMutablePointer<Double>, count: Int) {
        lock.lock()
        defer { lock.unlock() }
        free.append((count, pointer))
        while free.count > kept { free.removeFirst().pointer.deallocate() }
    }
}
