import XCTest

@testable import Radio

extension StreamingReceiverTests {
    /// A device that stops part-way is in the sum for the symbols that arrived; each OFDM symbol
    /// is rescaled by the weight present on it, and the error is not measured.
    func testPartialTransmissionIsRescaledPerSymbol() throws {
        let r = try makeRound(dacBits: nil, csiNMSE: 0)
        for space in ReceiverSpace.allCases { try partialTransmission(r, space: space) }
    }

    private func partialTransmission(_ r: Round, space: ReceiverSpace) throws {
        let rx = try StreamingReceiver(
            air: .overTheAir(channels: r.h, design: r.design, noisePowerW: 0, noiseDomain: .receiveAntennas),
            symbols: r.symbols, reals: r.reals, scale: r.scale, seed: 7, round: 3, space: space)
        let half = r.symbols / 2
        for k in 0..<5 {
            let upTo = k == 1 ? half : r.symbols
            try rx.add(device: k, first: 0, count: upTo, samples: r.x[k].symbolMajorSamples(0..<upTo))
            try rx.addReference(device: k, offset: 0, values: r.updates[k])
        }
        XCTAssertFalse(rx.isComplete(device: 1))
        XCTAssertEqual(rx.symbolsArrived(device: 1), half)
        let got = rx.finish()
        XCTAssertNil(got.error)
        let w = r.design.weights
        XCTAssertEqual(got.presentWeight[0], 1, accuracy: 1e-12)
        XCTAssertEqual(got.presentWeight[r.symbols - 1], 1 - w[1], accuracy: 1e-12)
        let perSymbol = 2 * r.grid.symbolsPerOFDMSymbol
        var early = 0.0
        var late = 0.0
        var scale = 0.0
        for i in 0..<r.reals {
            let inFirstHalf = i / perSymbol < half
            let devices = (0..<5).filter { inFirstHalf || $0 != 1 }
            let present = devices.reduce(0.0) { $0 + w[$1] }
            let mean = devices.reduce(0.0) { $0 + w[$1] * Double(r.updates[$1][i]) } / present
            let e = (Double(got.aggregate[i]) - mean) * (Double(got.aggregate[i]) - mean)
            if inFirstHalf { early += e } else { late += e }
            scale += mean * mean
        }
        // Perfect CSI, no noise, no DAC: only float rounding is left, in both halves (a wrong
        // weight on the late half, 1 instead of 1 − w_1, would leave an error of ~1e-2).
        XCTAssertLessThan(early / scale, 1e-9, "\(space)")
        XCTAssertLessThan(late / scale, 1e-9, "\(space)")
    }
}
