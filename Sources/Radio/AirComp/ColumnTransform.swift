import Numerics

/// A per-subcarrier linear map G[n] (rows × inputs, complex) that a device's samples pass through
/// before they are summed: H_k[n] for the air at the antennas, A[n]ᴴH_k[n]/√η[n] in the combiner's
/// space, H_k[n]·B_k[n] (or A[n]ᴴH_k[n]B_k[n]/√η[n]) for the measurement's noiseless reference,
/// w_k·I for an exact weighted sum. Pre-divided by the accumulator's LSB (a power of
/// two, so exactly) and split into real and imaginary planes for SIMD.
///
/// Layout (Float): entry (n, a, part, r) at `((n·inputs + a)·2 + part)·P + r`, P the padded rows.
public struct ColumnTransform: Sendable {
    public let subcarriers: Int
    public let rows: Int
    public let inputs: Int
    public let paddedRows: Int
    /// The planes, in a buffer whose address is stable (the kernels read it through raw pointers).
    let planes: PlaneBuffer
    /// For at most four rows (the combiner's space), each input's column as two 8-lane vectors,
    /// P = (Gre | Gim) and Q = (−Gim | Gre), at floats (n·inputs + a)·16 and + 8: a column of
    /// G·x is then Σ_a P·x_r + Q·x_i, broadcasts and fused multiply-adds only
    /// (`ExactAccumulator.addFewRows`). nil for more rows.
    let paired: PlaneBuffer?
    /// max_n max_r Σ_a |G[n]_{r,a}| in LSBs: a column of samples no larger than m in magnitude
    /// contributes less than `bound` · m per real.
    public let bound: Float

    /// - Parameters:
    ///   - entry: G[n]_{r,a} in the contributions' units.
    ///   - lsb: the accumulator's LSB per subcarrier.
    public init(
        subcarriers: Int, rows: Int, inputs: Int, lsb: [Float],
        entry: (_ n: Int, _ r: Int, _ a: Int) -> (re: Float, im: Float)
    ) {
        self.subcarriers = subcarriers
        self.rows = rows
        self.inputs = inputs
        paddedRows = (rows + 7) / 8 * 8
        let planes = PlaneBuffer(count: subcarriers * inputs * 2 * paddedRows)
        var bound: Float = 0
        for n in 0..<subcarriers {
            let inverse = 1 / lsb[n]
            var rowSums = [Float](repeating: 0, count: rows)
            for a in 0..<inputs {
                let o = (n * inputs + a) * 2 * paddedRows
                for r in 0..<rows {
                    let (re, im) = entry(n, r, a)
                    planes.pointer[o + r] = re * inverse
                    planes.pointer[o + paddedRows + r] = im * inverse
                    rowSums[r] += (abs(re) + abs(im)) * inverse
                }
            }
            bound = max(bound, rowSums.max() ?? 0)
        }
        self.planes = planes
        self.bound = bound
        paired =
            rows <= 4
            ? Self.pairs(planes, subcarriers: subcarriers, rows: rows, inputs: inputs, paddedRows: paddedRows) : nil
    }

    /// `paired` from the planes (rows 4…7 of P and Q hold the imaginary and real rows 0…3).
    private static func pairs(_ planes: PlaneBuffer, subcarriers: Int, rows: Int, inputs: Int, paddedRows p: Int)
        -> PlaneBuffer
    {
        let paired = PlaneBuffer(count: subcarriers * inputs * 16)
        for column in 0..<(subcarriers * inputs) {
            let g = planes.pointer + column * 2 * p
            let out = paired.pointer + column * 16
            for r in 0..<rows {
                let (re, im) = (g[r], g[p + r])
                (out[r], out[4 + r]) = (re, im)
                (out[8 + r], out[12 + r]) = (-im, re)
            }
        }
        return paired
    }
}

extension ColumnTransform {
    /// For each 8-row chunk c and each column t in 0..<count: body(t, c, re, im), (re, im) rows
    /// 8c..<8c+8 of G[n]·x_t, where input a of x_t is the complex at x + 2·(t·stride + a).
    /// Fused multiply-adds in a fixed order: the same bits on every machine and build mode. Four
    /// inputs (the devices' N_t = 4, L = 4) have their own loop with G held in registers.
    @inline(__always)
    func products(
        subcarrier n: Int, x: UnsafePointer<Float>, stride: Int, count: Int,
        _ body: (_ t: Int, _ chunk: Int, _ re: SIMD8<Float>, _ im: SIMD8<Float>) -> Void
    ) {
        let g = UnsafeRawPointer(planes.pointer)
        let p = paddedRows
        let inputs = self.inputs
        for c in 0..<(p / 8) {
            var t = 0
            if inputs != 4 {
                // Four columns at once: one column's sum is a chain of 2·inputs dependent
                // multiply-adds (32 for the combiner's 16 antennas), four chains keep the FMA
                // units busy. Each column's own operations are unchanged.
                while t + 4 <= count {
                    let q = Self.product4(
                        g, paddedRows: p, inputs: inputs, subcarrier: n, chunk: c,
                        column: x + 2 &* t &* stride, stride: 2 &* stride)
                    body(t, c, q.0.re, q.0.im)
                    body(t + 1, c, q.1.re, q.1.im)
                    body(t + 2, c, q.2.re, q.2.im)
                    body(t + 3, c, q.3.re, q.3.im)
                    t += 4
                }
            }
            while t < count {
                let (re, im) = Self.product(
                    g, paddedRows: p, inputs: inputs, subcarrier: n, chunk: c, column: x + 2 &* t &* stride)
                body(t, c, re, im)
                t += 1
            }
        }
    }

    typealias Rows = (re: SIMD8<Float>, im: SIMD8<Float>)

    /// `product`'s general loop for four columns x, x + step, x + 2·step, x + 3·step at once.
    @inline(__always)
    static func product4(
        _ planes: UnsafeRawPointer, paddedRows p: Int, inputs: Int, subcarrier n: Int, chunk c: Int,
        column x: UnsafePointer<Float>, stride step: Int
    ) -> (Rows, Rows, Rows, Rows) {
        let g = planes + 4 &* (n &* inputs &* 2 &* p &+ 8 &* c)
        var q: (Rows, Rows, Rows, Rows) = ((.zero, .zero), (.zero, .zero), (.zero, .zero), (.zero, .zero))
        @inline(__always) func accumulate(
            _ r: inout Rows, _ x: UnsafePointer<Float>, _ a: Int, _ gr: SIMD8<Float>, _ gi: SIMD8<Float>
        ) {
            let xr = x[2 &* a]
            let xi = x[2 &* a &+ 1]
            r.re = r.re.addingProduct(gr, xr)
            r.re = r.re.addingProduct(gi, -xi)
            r.im = r.im.addingProduct(gr, xi)
            r.im = r.im.addingProduct(gi, xr)
        }
        for a in 0..<inputs {
            let gr = g.loadUnaligned(fromByteOffset: 4 &* (a &* 2) &* p, as: SIMD8<Float>.self)
            let gi = g.loadUnaligned(fromByteOffset: 4 &* (a &* 2 &+ 1) &* p, as: SIMD8<Float>.self)
            accumulate(&q.0, x, a, gr, gi)
            accumulate(&q.1, x + step, a, gr, gi)
            accumulate(&q.2, x + 2 &* step, a, gr, gi)
            accumulate(&q.3, x + 3 &* step, a, gr, gi)
        }
        return q
    }

    /// Rows 8c..<8c+8 of G[n]·x for one column x (its inputs interleaved complex): fused
    /// multiply-adds in a fixed order, so the same bits on every machine and build mode. Four
    /// inputs (N_t = 4, L = 4: the common case) are unrolled.
    /// (Static, over the planes' raw address: the hot loops must not retain the transform.)
    @inline(__always)
    static func product(
        _ planes: UnsafeRawPointer, paddedRows p: Int, inputs: Int, subcarrier n: Int, chunk c: Int,
        column x: UnsafePointer<Float>
    ) -> (re: SIMD8<Float>, im: SIMD8<Float>) {
        let g = planes + 4 &* (n &* inputs &* 2 &* p &+ 8 &* c)
        @inline(__always) func load(_ a: Int, _ part: Int) -> SIMD8<Float> {
            g.loadUnaligned(fromByteOffset: 4 &* (a &* 2 &+ part) &* p, as: SIMD8<Float>.self)
        }
        if inputs == 4 {
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
            return (re, im)
        }
        var re = SIMD8<Float>()
        var im = SIMD8<Float>()
        for a in 0..<inputs {
            let xr = x[2 &* a]
            let xi = x[2 &* a &+ 1]
            let gr = load(a, 0)
            let gi = load(a, 1)
            re = re.addingProduct(gr, xr)
            re = re.addingProduct(gi, -xi)
            im = im.addingProduct(gr, xi)
            im = im.addingProduct(gi, xr)
        }
        return (re, im)
    }

    /// out_t = G[n]·x_t for t in 0..<count, in Float (no LSB: build the transform with LSB 1),
    /// interleaved complex, column t at out + 2·t·rows; x as in `products`.
    public func apply(
        subcarrier n: Int, x: UnsafePointer<Float>, stride: Int, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
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

/// A transform's planes: one manually managed buffer, freed with the last transform that shares it.
final class PlaneBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) {
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }
    deinit { pointer.deallocate() }
}

extension ColumnTransform {
    /// G = H_k[n] (N_r × N_t): what device k's transmitted samples pass through on the air.
    public static func channel(_ h: ChannelTensor, device k: Int, lsb: [Float]) -> ColumnTransform {
        ColumnTransform(subcarriers: h.subcarriers, rows: h.receiveAntennas, inputs: h.transmitAntennas, lsb: lsb) {
            n, r, a in
            let v = h[n, k, r, a]
            return (v.real, v.imaginary)
        }
    }

    /// `channel` of every device of h, in device order.
    public static func channels(_ h: ChannelTensor, lsb: [Float]) -> [ColumnTransform] {
        (0..<h.devices).map { channel(h, device: $0, lsb: lsb) }
    }

    /// G = H_k[n]·B_k[n] (N_r × L): the air of device k's intended symbols, unquantised.
    public static func effective(_ h: ChannelTensor, _ design: AirCompDesign, device k: Int, lsb: [Float])
        -> ColumnTransform
    {
        var hb = [Complex<Float>](repeating: .zero, count: h.subcarriers * h.receiveAntennas * design.streams)
        let nr = h.receiveAntennas
        let nt = h.transmitAntennas
        let l = design.streams
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
        ColumnTransform(subcarriers: subcarriers, rows: streams, inputs: streams, lsb: lsb) { _, r, a in
            (r == a ? w : 0, 0)
        }
    }
}
