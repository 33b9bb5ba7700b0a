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
        let scale = lsb[n], p = storage
        for t in 0..<columns {
            let o = offset(subcarrier: n, column: t)
            guard written[n * columns + t] else {
                for i in 0..<(2 * rows) { out[2 * t * rows + i] = 0 }
                continue
            }
            for r in 0..<rows {
                out[2 * (t * rows + r)] = Float(p[o + r]) * scale
                out[2 * (t * rows + r) + 1] = Float(p[o + paddedRows + r]) * scale
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

/// A per-subcarrier linear map G[n] (rows × inputs, complex) that a device's samples pass through
/// before they are summed: H_k[n] for the air, H_k[n]·B_k[n] for the measurement's noiseless
/// reference, w_k·I for an exact weighted sum. Pre-divided by the accumulator's LSB (a power of
/// two, so exactly) and split into real and imaginary planes for SIMD.
///
/// Layout (Float): entry (n, a, part, r) at `((n·inputs + a)·2 + part)·P + r`, P the padded rows.
public struct ColumnTransform: Sendable {
    public let subcarriers: Int
    public let rows: Int
    public let inputs: Int
    public let paddedRows: Int
    var planes: [Float]
    /// max_n max_r Σ_a |G[n]_{r,a}| in LSBs: a column of samples no larger than m in magnitude
    /// contributes less than `bound` · m per real.
    public let bound: Float

    /// - Parameters:
    ///   - entry: G[n]_{r,a} in the contributions' units.
    ///   - lsb: the accumulator's LSB per subcarrier.
    public init(subcarriers: Int, rows: Int, inputs: Int, lsb: [Float], entry: (_ n: Int, _ r: Int, _ a: Int) -> (re: Float, im: Float)) {
        self.subcarriers = subcarriers
        self.rows = rows
        self.inputs = inputs
        paddedRows = (rows + 7) / 8 * 8
        var planes = [Float](repeating: 0, count: subcarriers * inputs * 2 * paddedRows)
        var bound: Float = 0
        for n in 0..<subcarriers {
            let inverse = 1 / lsb[n]
            var rowSums = [Float](repeating: 0, count: rows)
            for a in 0..<inputs {
                let o = (n * inputs + a) * 2 * paddedRows
                for r in 0..<rows {
                    let (re, im) = entry(n, r, a)
                    planes[o + r] = re * inverse
                    planes[o + paddedRows + r] = im * inverse
                    rowSums[r] += (abs(re) + abs(im)) * inverse
                }
            }
            bound = max(bound, rowSums.max() ?? 0)
        }
        self.planes = planes
        self.bound = bound
    }
}

extension ColumnTransform {
    /// For each 8-row chunk c and each column t in 0..<count: body(t, c, re, im), (re, im) rows
    /// 8c..<8c+8 of G[n]·x_t, where input a of x_t is the complex at x + 2·(t·stride + a).
    /// Fused multiply-adds in a fixed order: the same bits on every machine and build mode. Four
    /// inputs (the devices' N_t = 4, L = 4) have their own loop with G held in registers.
    @inline(__always)
    func products(subcarrier n: Int, x: UnsafePointer<Float>, stride: Int, count: Int,
                  _ body: (_ t: Int, _ chunk: Int, _ re: SIMD8<Float>, _ im: SIMD8<Float>) -> Void) {
        let p = paddedRows, inputs = self.inputs
        planes.withUnsafeBufferPointer { gp in
            let g = UnsafeRawPointer(gp.baseAddress!) + 4 &* n &* inputs &* 2 &* p
            @inline(__always) func load(_ a: Int, _ part: Int, _ c: Int) -> SIMD8<Float> {
                g.loadUnaligned(fromByteOffset: 4 &* ((a &* 2 &+ part) &* p &+ 8 &* c), as: SIMD8<Float>.self)
            }
            for c in 0..<(p / 8) {
                if inputs == 4 {
                    let (r0, i0, r1, i1) = (load(0, 0, c), load(0, 1, c), load(1, 0, c), load(1, 1, c))
                    let (r2, i2, r3, i3) = (load(2, 0, c), load(2, 1, c), load(3, 0, c), load(3, 1, c))
                    for t in 0..<count {
                        let xc = x + 2 &* t &* stride
                        var re = r0 * xc[0], im = r0 * xc[1]
                        re = re.addingProduct(i0, -xc[1]); im = im.addingProduct(i0, xc[0])
                        re = re.addingProduct(r1, xc[2]); im = im.addingProduct(r1, xc[3])
                        re = re.addingProduct(i1, -xc[3]); im = im.addingProduct(i1, xc[2])
                        re = re.addingProduct(r2, xc[4]); im = im.addingProduct(r2, xc[5])
                        re = re.addingProduct(i2, -xc[5]); im = im.addingProduct(i2, xc[4])
                        re = re.addingProduct(r3, xc[6]); im = im.addingProduct(r3, xc[7])
                        re = re.addingProduct(i3, -xc[7]); im = im.addingProduct(i3, xc[6])
                        body(t, c, re, im)
                    }
                    continue
                }
                for t in 0..<count {
                    let xc = x + 2 &* t &* stride
                    var re = SIMD8<Float>(), im = SIMD8<Float>()
                    for a in 0..<inputs {
                        let xr = xc[2 &* a], xi = xc[2 &* a &+ 1]
                        let gr = load(a, 0, c), gi = load(a, 1, c)
                        re = re.addingProduct(gr, xr)
                        re = re.addingProduct(gi, -xi)
                        im = im.addingProduct(gr, xi)
                        im = im.addingProduct(gi, xr)
                    }
                    body(t, c, re, im)
                }
            }
        }
    }

    /// out_t = G[n]·x_t for t in 0..<count, in Float (no LSB: build the transform with LSB 1),
    /// interleaved complex, column t at out + 2·t·rows; x as in `products`.
    public func apply(subcarrier n: Int, x: UnsafePointer<Float>, stride: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let rows = self.rows
        products(subcarrier: n, x: x, stride: stride, count: count) { t, c, re, im in
            let o = out + 2 * t * rows
            for i in 0..<min(8, rows - 8 * c) {
                o[2 * (8 * c + i)] = re[i]
                o[2 * (8 * c + i) + 1] = im[i]
            }
        }
    }
}

extension ExactAccumulator {
    /// sum[n][:, first + t] += round(G[n] · x[n, t]) for n in `band`, t in 0..<count.
    ///
    /// `x` is interleaved complex in the wire's order: input a of subcarrier n at OFDM symbol t is
    /// at ((t·N_sc + n)·inputs + a). The caller has checked |x| · G.bound < `contributionLimit`
    /// (else the sum would not be exact).
    public func add(_ g: ColumnTransform, samples x: UnsafePointer<Float>, first: Int, count: Int, band: Range<Int>) {
        precondition(g.subcarriers == subcarriers && g.paddedRows == paddedRows && first >= 0 && first + count <= columns)
        let p = paddedRows, sraw = UnsafeMutableRawPointer(storage)
        for n in band {
            let flags = written + n * columns + first, base = offset(subcarrier: n, column: first)
            g.products(subcarrier: n, x: x + 2 * n * g.inputs, stride: subcarriers * g.inputs, count: count) { t, c, re, im in
                let so = base &+ t &* 2 &* p &+ 8 &* c
                Self.accumulate(re, into: sraw, byteOffset: so &* 8, fresh: !flags[t])
                Self.accumulate(im, into: sraw, byteOffset: (so &+ p) &* 8, fresh: !flags[t])
            }
            for t in 0..<count { flags[t] = true }
        }
    }

    /// sum[n][:, t] += round(G[n][:, l] · v) for each entry (n, t, l, v): single symbols of a
    /// device's intended block (rank-1 terms, so any split of a block into runs sums the same).
    public func addEntries(_ g: ColumnTransform, band: Range<Int>, entries: (_ body: (_ n: Int, _ t: Int, _ l: Int, _ v: (Float, Float)) -> Void) -> Void) {
        precondition(g.subcarriers == subcarriers && g.paddedRows == paddedRows)
        let p = paddedRows, chunks = p / 8, inputs = g.inputs
        g.planes.withUnsafeBufferPointer { gp in
                let graw = UnsafeRawPointer(gp.baseAddress!), sraw = UnsafeMutableRawPointer(storage)
                entries { n, t, l, v in
                    guard band.contains(n) else { return }
                    let so = offset(subcarrier: n, column: t), fresh = !written[n * columns + t]
                    written[n * columns + t] = true
                    for c in 0..<chunks {
                        let o = ((n * inputs + l) * 2 * p + 8 * c) * 4
                        let gr = graw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let gi = graw.loadUnaligned(fromByteOffset: o + 4 * p, as: SIMD8<Float>.self)
                        let re = (gr * v.0).addingProduct(gi, -v.1), im = (gr * v.1).addingProduct(gi, v.0)
                        Self.accumulate(re, into: sraw, byteOffset: (so + 8 * c) * 8, fresh: fresh)
                        Self.accumulate(im, into: sraw, byteOffset: (so + p + 8 * c) * 8, fresh: fresh)
                    }
                }
        }
    }

    /// Eight integer lanes += round-to-nearest-even(v); `fresh`: the lanes hold nothing yet (0 + q,
    /// so a −0 is stored as +0, exactly as the sum from zero would be).
    @inline(__always) static func accumulate(_ v: SIMD8<Float>, into base: UnsafeMutableRawPointer, byteOffset: Int, fresh: Bool) {
        let q = SIMD8<Double>(v.rounded(.toNearestOrEven))
        let old = fresh ? SIMD8<Double>() : base.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Double>.self)
        base.storeBytes(of: old + q, toByteOffset: byteOffset, as: SIMD8<Double>.self)
    }
}

extension ColumnTransform {
    /// G = H_k[n] (N_r × N_t): what device k's transmitted samples pass through on the air.
    public static func channel(_ h: ChannelTensor, device k: Int, lsb: [Float]) -> ColumnTransform {
        ColumnTransform(subcarriers: h.subcarriers, rows: h.receiveAntennas, inputs: h.transmitAntennas, lsb: lsb) { n, r, a in
            let v = h[n, k, r, a]
            return (v.real, v.imaginary)
        }
    }

    /// G = H_k[n]·B_k[n] (N_r × L): the air of device k's intended symbols, unquantised.
    public static func effective(_ h: ChannelTensor, _ design: AirCompDesign, device k: Int, lsb: [Float]) -> ColumnTransform {
        var hb = [Complex<Float>](repeating: .zero, count: h.subcarriers * h.receiveAntennas * design.streams)
        let nr = h.receiveAntennas, nt = h.transmitAntennas, l = design.streams
        for n in 0..<h.subcarriers {
            let b = design.precoders[k]
            for c in 0..<l {
                for r in 0..<nr {
                    var v = Complex<Float>.zero
                    for a in 0..<nt { v += h[n, k, r, a] * b[n, a, c] }
                    hb[(n * l + c) * nr + r] = v
                }
            }
        }
        return ColumnTransform(subcarriers: h.subcarriers, rows: nr, inputs: l, lsb: lsb) { n, r, c in
            let v = hb[(n * l + c) * nr + r]
            return (v.real, v.imaginary)
        }
    }

    /// G = w·I_L: a weighted exact sum of symbols.
    public static func diagonal(_ w: Float, subcarriers: Int, streams: Int, lsb: [Float]) -> ColumnTransform {
        ColumnTransform(subcarriers: subcarriers, rows: streams, inputs: streams, lsb: lsb) { _, r, a in (r == a ? w : 0, 0) }
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
