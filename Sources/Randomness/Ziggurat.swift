import Foundation

/// Marsaglia & Tsang's ziggurat for the standard normal, 256 layers.
///
/// Almost every draw costs one 64-bit random number, a table look-up, a multiply and a compare;
/// the rare wedge and tail draws use `exp`/`log`. The tables are built once in Double from the
/// closed-form recurrence.
struct Ziggurat: Sendable {
    static let shared = Ziggurat()

    private static let layers = 256
    /// Right edge of the base layer (for 256 layers).
    private static let r = 3.6541528853610088
    /// Area of each layer.
    private static let v = 0.00492867323399

    /// x[i]: right edge of layer i, x[0] = v/f(r) (base strip width), x[256] = 0.
    let x: [Double]
    /// f(x[i]) = exp(−x[i]²/2).
    let f: [Double]

    private init() {
        var x = [Double](repeating: 0, count: Ziggurat.layers + 1)
        var f = [Double](repeating: 0, count: Ziggurat.layers + 1)
        let r = Ziggurat.r
        let v = Ziggurat.v
        let fr = exp(-0.5 * r * r)
        x[0] = v / fr
        x[1] = r
        f[0] = fr // unused by the base layer test below
        f[1] = fr
        for i in 2..<Ziggurat.layers {
            x[i] = max(0, -2 * log(v / x[i - 1] + f[i - 1])).squareRoot()
            f[i] = exp(-0.5 * x[i] * x[i])
        }
        x[Ziggurat.layers] = 0
        f[Ziggurat.layers] = 1
        self.x = x
        self.f = f
    }

    @inline(__always)
    func sample(_ g: inout SeededGenerator) -> Double {
        while true {
            let bits = g.next()
            let i = Int(bits & 0xFF)
            let negative = (bits & 0x100) != 0
            // 53 bits remain for the uniform.
            let u = Double(bits >> 11) * 0x1.0p-53
            let z = u * x[i]
            if z < x[i + 1] { return negative ? -z : z }
            if i == 0 {
                // Tail beyond r (Marsaglia 1964).
                var xt = 0.0
                var yt = 0.0
                repeat {
                    xt = -log(g.uniformPositive()) / Ziggurat.r
                    yt = -log(g.uniformPositive())
                } while 2 * yt < xt * xt
                let t = Ziggurat.r + xt
                return negative ? -t : t
            }
            // Wedge between layer i+1's edge and layer i's edge.
            let y = f[i] + g.uniform() * (f[i + 1] - f[i])
            if y < exp(-0.5 * z * z) { return negative ? -z : z }
        }
    }
}
