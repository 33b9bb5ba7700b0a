import Foundation

/// A line chart as a standalone SVG file: one or more series against rounds, each with an optional
/// band (e.g. the spread over seeds), axes with ticks, a legend beside the plot (never over the
/// data). Enough to look at a run without Python.
package struct SVGPlot {
    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var series: [(name: String, points: [(x: Double, y: Double)])]
    /// Per series (same order), the band drawn under its line; empty: none.
    package var bands: [[(x: Double, low: Double, high: Double)]] = []
    /// Logarithmic axes (for MSE, power in watts, antenna counts): values ≤ 0 are left out.
    package var xLog = false
    package var yLog = false
    /// Whole-number x ticks only (rounds, ranks).
    package var integralX = true
    /// Series drawn dashed (a reference line such as ideal FL).
    package var dashed: Set<Int> = []

    package init(
        title: String, xLabel: String, yLabel: String, series: [(name: String, points: [(x: Double, y: Double)])],
        bands: [[(x: Double, low: Double, high: Double)]] = [], xLog: Bool = false, yLog: Bool = false,
        integralX: Bool = true, dashed: Set<Int> = []
    ) {
        (self.title, self.xLabel, self.yLabel, self.series, self.bands) = (title, xLabel, yLabel, series, bands)
        (self.xLog, self.yLog, self.integralX, self.dashed) = (xLog, yLog, integralX, dashed)
    }

    package func render(width: Double = 780, height: Double = 400) -> String {
        let left = 70.0
        let right = 180.0
        let top = 40.0
        let bottom = 50.0
        // Axis coordinates: log10 of the value on a log axis.
        func ax(_ x: Double) -> Double { xLog ? (x > 0 ? log10(x) : .nan) : x }
        func ay(_ y: Double) -> Double { yLog ? (y > 0 ? log10(y) : .nan) : y }
        let all = series.flatMap(\.points).map { (x: ax($0.x), y: ay($0.y)) }.filter { $0.x.isFinite && $0.y.isFinite }
        let spread = bands.flatMap { $0 }.flatMap { [ay($0.low), ay($0.high)] }.filter(\.isFinite)
        let xs = all.map(\.x)
        let ys = all.map(\.y) + spread
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 {
            y0 -= 0.5
            y1 += 0.5
        }
        let pad = (y1 - y0) * 0.05
        y0 -= pad
        y1 += pad
        func px(_ x: Double) -> Double { left + (ax(x) - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (ay(y) - y0) / (y1 - y0) * (height - top - bottom) }
        let colours = [
            "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf",
        ]
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        s +=
            "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" "
            + "stroke=\"black\"/>\n"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"black\"/>\n"
        // A log axis narrower than the gap between 1, 2 and 5 gets round values evenly spaced instead.
        let logY = Self.logTicks(from: y0, to: y1)
        let yTicks =
            yLog
            ? (logY.count >= 2 ? logY : Self.ticks(from: pow(10, y0), to: pow(10, y1))) : Self.ticks(from: y0, to: y1)
        let dataX = Set(series.flatMap(\.points).map(\.x).filter { !xLog || $0 > 0 }).sorted()
        let xTicks =
            xLog
            ? (dataX.count <= 12 ? dataX : Self.logTicks(from: x0, to: x1))
            : Self.ticks(from: x0, to: x1, integral: integralX)
        for y in yTicks {
            s += "<line x1=\"\(left - 4)\" y1=\"\(py(y))\" x2=\"\(width - right)\" y2=\"\(py(y))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%g", y))</text>\n"
        }
        for x in xTicks {
            s +=
                "<text x=\"\(px(x))\" y=\"\(height - bottom + 18)\" "
                + "text-anchor=\"middle\">\(String(format: "%g", x))</text>\n"
        }
        s += "<text x=\"\(width / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s +=
            "<text x=\"16\" y=\"\(height / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
            + "\(height / 2))\">\(escape(yLabel))</text>\n"
        for (i, band) in bands.enumerated() where !band.isEmpty {
            let c = colours[i % colours.count]
            let kept = band.filter { ay($0.low).isFinite && ay($0.high).isFinite && ax($0.x).isFinite }
            let outline =
                kept.map { "\(px($0.x)),\(py($0.high))" } + kept.reversed().map { "\(px($0.x)),\(py($0.low))" }
            s +=
                "<polygon fill=\"\(c)\" fill-opacity=\"0.15\" stroke=\"none\" "
                + "points=\"\(outline.joined(separator: " "))\"/>\n"
        }
        var legendRow = 0
        for (i, line) in series.enumerated() {
            let c = colours[i % colours.count]
            let shown = line.points.filter { ax($0.x).isFinite && ay($0.y).isFinite }
            let pts = shown.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            s +=
                "<polyline fill=\"none\" stroke=\"\(c)\" "
                + "stroke-width=\"2\"\(dashed.contains(i) ? " stroke-dasharray=\"6 4\"" : "") points=\"\(pts)\"/>\n"
            for p in shown { s += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"3\" fill=\"\(c)\"/>\n" }
            // The legend names only what is drawn (ideal FL has no MSE to put on a log axis).
            guard !shown.isEmpty else { continue }
            s +=
                "<text x=\"\(width - right + 12)\" y=\"\(top + 16 * Double(legendRow) + 4)\" "
                + "fill=\"\(c)\">\(escape(line.name))</text>\n"
            legendRow += 1
        }
        return s + "</svg>\n"
    }

    /// Ticks of a log axis given in log10 coordinates: each decade 10^k inside it, and 2 and 5 ×
    /// 10^k too when it spans fewer than three decades.
    package static func logTicks(from low: Double, to high: Double) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [pow(10, low)] }
        let mantissas: [Double] = high - low < 3 ? [1, 2, 5] : [1]
        var out = [Double]()
        for k in Int(floor(low))...Int(ceil(high)) {
            for m in mantissas {
                let v = m * pow(10, Double(k))
                if log10(v) >= low - 1e-9, log10(v) <= high + 1e-9 { out.append(v) }
            }
        }
        return out
    }

    /// Round-number ticks (1, 2 or 5 × 10^k apart, about five of them) inside [low, high]; whole
    /// numbers only when `integral` (rounds).
    package static func ticks(from low: Double, to high: Double, integral: Bool = false) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [low] }
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        if integral { step = max(1, step.rounded()) }
        var out = [Double]()
        var t = (low / step).rounded(.up) * step
        while t <= high + 1e-9 * step, out.count < 50 {
            out.append(abs(t) < 1e-12 * step ? 0 : t)
            t += step
        }
        return out
    }

    private func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
