import Foundation
import LinearAlgebra
import Numerics
import Randomness
import XCTest

@testable import Radio

/// The streaming receiver that `serve` runs: the same bits as the batch `ReceiveChain` whatever
/// the frames' order, split and thread count; refusals that sum nothing; partial transmissions.
final class StreamingReceiverTests: XCTestCase {
    /// 5 devices, 6 × 2 antennas, L = 2, 8 subcarriers, a 5-bit DAC, imperfect CSI, 10 dB SNR.
    struct Round {
        let h: ChannelTensor, design: AirCompDesign, grid: ResourceGrid
        let updates: [[Float]], scale: Float, symbols: Int
        let x: [SubcarrierBlocks], s: [SubcarrierBlocks]
        let noise = 0.0125
        var reals: Int { updates[0].count }
    }

    func makeRound(reals: Int = 2 * 2 * 8 * 37 - 3, dacBits: Int? = 5, csiNMSE: Double = 1e-3) throws -> Round {
        let h = rayleighChannels(subcarriers: 8, devices: 5, rx: 6, tx: 2, seed: 41)
        let power = [Double](repeating: 1, count: 5)
        let a = try randomBeamformers(subcarriers: 8, rx: 6, streams: 2, seed: 42)
        let design = try AirCompDesign(
            channels: csiNMSE > 0 ? h.estimated(nmse: csiNMSE, seed: 43, round: 1) : h, beamformers: a, powerW: power,
            weights: [0.3, 0.1, 0.25, 0.15, 0.2])
        let updates = randomUpdates(devices: 5, reals: reals, seed: 44)
        let grid = try ResourceGrid(subcarriers: 8, streams: 2)
        let c = try ResourceGrid.commonScale(updates: updates)
        let s = try updates.map { try grid.map(update: $0, scale: c) }
        let x = try (0..<5).map { k -> SubcarrierBlocks in
            var x = try OverTheAir.precode(s[k], with: design.precoders[k])
            if let dacBits { _ = try DAC(bits: dacBits).quantize(&x) }
            return x
        }
        return Round(h: h, design: design, grid: grid, updates: updates, scale: c, symbols: s[0].columns, x: x, s: s)
    }

    func receiver(
        _ r: Round, threads: Int, queueDepth: Int = 16, holdFrames: Int = StreamingReceiver.defaultHoldFrames,
        domain: NoiseDomain = .receiveAntennas, space: ReceiverSpace = .combiner, summing: Summing = .workers
    ) throws -> StreamingReceiver {
        try StreamingReceiver(
            air: .overTheAir(channels: r.h, design: r.design, noisePowerW: r.noise, noiseDomain: domain),
            symbols: r.symbols, reals: r.reals, scale: r.scale, seed: 7, round: 3, threads: threads,
            queueDepth: queueDepth,
            holdFrames: holdFrames, space: space, summing: summing)
    }

    /// Every device's frames in runs of 1–9 OFDM symbols and its reference in runs of 1–300 reals,
    /// all interleaved in a shuffled order.
    func shuffledFrames(_ r: Round, seed: UInt64) -> [(device: Int, first: Int, count: Int, reference: Bool)] {
        var g = SeededGenerator(seed: seed)
        var items = [(device: Int, first: Int, count: Int, reference: Bool)]()
        for k in 0..<5 {
            var t = 0
            while t < r.symbols {
                let n = min(r.symbols - t, 1 + Int(g.next() % 9))
                items.append((k, t, n, false))
                t += n
            }
            var i = 0
            while i < r.reals {
                let n = min(r.reals - i, 1 + Int(g.next() % 300))
                items.append((k, i, n, true))
                i += n
            }
        }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return items
    }

    func stream(_ r: Round, into rx: StreamingReceiver, seed: UInt64) throws {
        for f in shuffledFrames(r, seed: seed) {
            if f.reference {
                try rx.addReference(
                    device: f.device, offset: f.first, values: Array(r.updates[f.device][f.first..<(f.first + f.count)])
                )
            } else {
                try rx.add(
                    device: f.device, first: f.first, count: f.count,
                    samples: r.x[f.device].symbolMajorSamples(f.first..<(f.first + f.count)))
            }
        }
    }

    func testStreamingInAnyOrderIsBitIdenticalToTheBatchChain() throws {
        let r = try makeRound()
        for (space, domain) in ReceiverSpace.allCases.flatMap({ s in NoiseDomain.allCases.map { (s, $0) } }) {
            let chain = try ReceiveChain(
                channels: r.h, design: r.design, noisePowerW: r.noise, noiseDomain: domain, space: space, threads: 2)
            let batch = try chain.receive(r.x, intended: r.s, scale: r.scale, reals: r.reals, seed: 7, round: 3)
            for (threads, seed, depth, summing) in [
                (1, 1 as UInt64, 1, Summing.workers), (3, 2, 16, .workers), (8, 3, 4, .workers),
                (2, 4, 8, .receivingThread),
            ] {
                let rx = try receiver(
                    r, threads: threads, queueDepth: depth, domain: domain, space: space, summing: summing)
                try stream(r, into: rx, seed: seed)
                let got = rx.finish()
                XCTAssertEqual(
                    got.aggregate, batch.aggregate,
                    "\(space) space, \(domain), \(threads) threads summing on \(summing), order \(seed)")
                XCTAssertEqual(got.combined, batch.combined)
                XCTAssertEqual(got.error, batch.error)
            }
            // And it is the air: thermal noise near σ²L/η, the other parts present (CSI, DAC).
            let m = try XCTUnwrap(batch.error).means
            let predicted = r.design.mse(noisePowerW: r.noise).reduce(0, +) / 8
            XCTAssertEqual(m.thermal / predicted, 1, accuracy: 0.1)
            XCTAssertGreaterThan(m.csi, 0)
            XCTAssertGreaterThan(m.quantization, 0)
        }
    }

    /// The symbol-domain error turned into the update's own units is the error of the aggregate
    /// update measured real by real: c²·mse/(2L) per real, and ‖e‖²/‖Σ w Δ‖² as `normalized`
    /// (the few padding entries of the last OFDM symbol aside, hence 2 %).
    func testErrorPerRealIsTheAggregateUpdatesError() throws {
        let r = try makeRound()
        let rx = try receiver(r, threads: 2)
        try stream(r, into: rx, seed: 5)
        let got = rx.finish()
        let weights = [0.3, 0.1, 0.25, 0.15, 0.2]
        var error = 0.0
        var signal = 0.0
        for i in 0..<r.reals {
            let target = (0..<5).reduce(0.0) { $0 + weights[$1] * Double(r.updates[$1][i]) }
            error += (Double(got.aggregate[i]) - target) * (Double(got.aggregate[i]) - target)
            signal += target * target
        }
        let e = try XCTUnwrap(got.error)
        let perReal = Double(r.scale) * Double(r.scale) * e.means.total / Double(2 * r.grid.streams)
        XCTAssertEqual(perReal / (error / Double(r.reals)), 1, accuracy: 0.02)
        XCTAssertEqual(e.normalized / (error / signal), 1, accuracy: 0.02)
    }

    /// Channels prepared once (`stress`'s form, H not kept) sum to the same bits as the channels
    /// themselves, and refuse to measure the error (which needs H).
    func testPreparedChannelsAreBitIdenticalToTheChannels() throws {
        let r = try makeRound()
        for space in ReceiverSpace.allCases {
            let prepared = try PreparedChannels(r.h, design: r.design, space: space)
            func received(_ air: AirSum) throws -> StreamingReception {
                let rx = try StreamingReceiver(
                    air: air, symbols: r.symbols, reals: r.reals, scale: r.scale, seed: 7, round: 3, threads: 2,
                    measuring: false, space: space)
                for k in 0..<5 {
                    try rx.add(device: k, first: 0, count: r.symbols, samples: r.x[k].symbolMajorSamples(0..<r.symbols))
                }
                return rx.finish()
            }
            let direct = try received(
                .overTheAir(channels: r.h, design: r.design, noisePowerW: r.noise, noiseDomain: .receiveAntennas))
            let viaPrepared = try received(
                .overTheAirPrepared(channels: prepared, noisePowerW: r.noise, noiseDomain: .receiveAntennas))
            XCTAssertEqual(viaPrepared.aggregate, direct.aggregate, "\(space)")
            XCTAssertEqual(viaPrepared.combined, direct.combined, "\(space)")
        }
        let prepared = try PreparedChannels(r.h, design: r.design)
        XCTAssertThrowsError(
            try StreamingReceiver(
                air: .overTheAirPrepared(channels: prepared, noisePowerW: r.noise, noiseDomain: .receiveAntennas),
                symbols: r.symbols, reals: r.reals, scale: r.scale, seed: 7, round: 3)
        ) { error in
            guard case AirCompError.cannotMeasure = error else { return XCTFail("\(error)") }
        }
    }

    /// Frames gathered by the OFDM symbols they carry: every device in runs of one OFDM symbol
    /// (185 frames, more than the receiver holds, so batches leave both complete and, the largest
    /// first, incomplete), in lockstep, in reverse and shuffled, with the default hold and with
    /// one of 3 frames (as a small stress window makes it): the batch chain's bits each time, and
    /// every frame handed to the workers by the end.
    func testFramesGatheredBySymbolsAreBitIdentical() throws {
        let r = try makeRound()
        XCTAssertGreaterThan(5 * r.symbols, StreamingReceiver.defaultHoldFrames)
        for space in ReceiverSpace.allCases { try gatherFrames(r, space: space) }
    }

    private func gatherFrames(_ r: Round, space: ReceiverSpace) throws {
        let chain = try ReceiveChain(
            channels: r.h, design: r.design, noisePowerW: r.noise, noiseDomain: .receiveAntennas, space: space,
            threads: 2)
        let batch = try chain.receive(r.x, intended: r.s, scale: r.scale, reals: r.reals, seed: 7, round: 3)
        let lockstep = (0..<r.symbols).flatMap { t in (0..<5).map { (device: $0, first: t) } }
        var g = SeededGenerator(seed: 12)
        var shuffled = lockstep
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        let orders = [("lockstep", lockstep), ("reverse", Array(lockstep.reversed())), ("shuffled", shuffled)]
        let cases = [StreamingReceiver.defaultHoldFrames, 3].flatMap { hold in
            orders.map { (hold, "\($0.0), hold \(hold)", $0.1) }
        }
        for (hold, name, order) in cases {
            let rx = try receiver(r, threads: 2, queueDepth: 4, holdFrames: hold, space: space)
            for k in 0..<5 { try rx.addReference(device: k, offset: 0, values: r.updates[k]) }
            for f in order {
                try rx.add(
                    device: f.device, first: f.first, count: 1,
                    samples: r.x[f.device].symbolMajorSamples(f.first..<(f.first + 1)))
                XCTAssertLessThanOrEqual(rx.heldFrames, hold, name)
                XCTAssertEqual(rx.heldFrames + rx.framesHandedOver, rx.framesAdded.reduce(0, +), name)
            }
            let got = rx.finish()
            XCTAssertEqual(rx.framesHandedOver, order.count, name)
            XCTAssertEqual(got.aggregate, batch.aggregate, name)
            XCTAssertEqual(got.combined, batch.combined, name)
            XCTAssertEqual(got.error, batch.error, name)
        }
    }

    /// Frames summed from their received bytes (a cf32 payload, not copied; and one whose bytes
    /// sit at an odd address, which goes through a copy) give the same bits as from Floats.
    func testFramesSummedFromTheirBytesAreBitIdentical() throws {
        let r = try makeRound()
        let floats = try receiver(r, threads: 2)
        let bytes = try receiver(r, threads: 2)
        for (i, f) in shuffledFrames(r, seed: 9).enumerated() {
            if f.reference {
                let values = Array(r.updates[f.device][f.first..<(f.first + f.count)])
                try floats.addReference(device: f.device, offset: f.first, values: values)
                try bytes.addReference(device: f.device, offset: f.first, values: values)
                continue
            }
            let samples = r.x[f.device].symbolMajorSamples(f.first..<(f.first + f.count))
            try floats.add(device: f.device, first: f.first, count: f.count, samples: samples)
            var data = Data(i % 2 == 0 ? [] : [0xAB]) // every other run one byte off alignment
            for v in samples { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            let payload = data[(data.startIndex + (i % 2))...]
            try bytes.add(device: f.device, first: f.first, count: f.count, received: .littleEndianBytes(payload))
        }
        let a = floats.finish()
        let b = bytes.finish()
        XCTAssertEqual(a.aggregate, b.aggregate)
        XCTAssertEqual(a.combined, b.combined)
        XCTAssertEqual(a.error, b.error)
        // A NaN is still found in bytes.
        let rx = try receiver(r, threads: 1)
        var nan = Data()
        for v in [Float](repeating: 0, count: 2 * 8 * 2 - 1) + [.nan] {
            withUnsafeBytes(of: v.bitPattern.littleEndian) { nan.append(contentsOf: $0) }
        }
        XCTAssertThrowsError(try rx.add(device: 0, first: 0, count: 1, received: .littleEndianBytes(nan))) {
            XCTAssertEqual(($0 as? ReceptionRefusal)?.kind, .nonFinite)
        }
    }

    /// Ideal FL: the sum of the symbols is exact, so its error is exactly 0 and its aggregate the
    /// weighted mean to float precision, whatever the order.
    func testExactSumHasNoErrorAndIsTheWeightedMean() throws {
        let r = try makeRound()
        let weights = r.design.weights
        func run(_ seed: UInt64, threads: Int) throws -> StreamingReception {
            let rx = try StreamingReceiver(
                air: .exact(weights: weights, grid: r.grid, quantized: false), symbols: r.symbols, reals: r.reals,
                scale: r.scale, seed: 7, round: 3, threads: threads)
            var g = SeededGenerator(seed: seed)
            for k in (0..<5).sorted(by: { _, _ in g.next() % 2 == 0 }) {
                try rx.add(device: k, first: 0, count: r.symbols, samples: r.s[k].symbolMajorSamples(0..<r.symbols))
                try rx.addReference(device: k, offset: 0, values: r.updates[k])
            }
            return rx.finish()
        }
        let a = try run(1, threads: 1)
        let b = try run(2, threads: 4)
        XCTAssertEqual(a.aggregate, b.aggregate)
        XCTAssertEqual(try XCTUnwrap(a.error).means.total, 0)
        for i in stride(from: 0, to: r.reals, by: 7) {
            let mean = (0..<5).reduce(0.0) { $0 + weights[$1] * Double(r.updates[$1][i]) }
            XCTAssertEqual(Double(a.aggregate[i]), mean, accuracy: 1e-6 * Double(r.scale))
        }
    }

    /// Duplicates, replays, runs outside the round, NaN, oversized samples and overlapping
    /// references are refused with the device named, and nothing of them is summed.
    func testRefusedFramesSumNothing() throws {
        let r = try makeRound()
        let clean = try receiver(r, threads: 2)
        let attacked = try receiver(r, threads: 2)
        try stream(r, into: clean, seed: 5)
        let run = r.x[1].symbolMajorSamples(0..<2)
        var nan = run
        nan[3] = .nan
        var huge = run
        huge[0] = 1e30
        func refused(_ what: String, _ keyword: String, _ attempt: () throws -> Void) {
            XCTAssertThrowsError(try attempt(), what) { error in
                XCTAssertTrue((error as? ReceptionRefusal)?.problem.contains(keyword) == true, "\(what): \(error)")
            }
        }
        // Before the honest frames (so each reaches its own check) ...
        refused("outside", "outside", { try attacked.add(device: 1, first: r.symbols - 1, count: 2, samples: run) })
        refused("no device", "no such device", { try attacked.add(device: 5, first: 0, count: 2, samples: run) })
        refused(
            "short", "samples for", { try attacked.add(device: 1, first: 0, count: 2, samples: Array(run.dropLast(2))) }
        )
        refused("NaN", "NaN", { try attacked.add(device: 1, first: 0, count: 2, samples: nan) })
        refused("huge", "beyond", { try attacked.add(device: 1, first: 0, count: 2, samples: huge) })
        refused(
            "reference outside", "outside",
            { try attacked.addReference(device: 2, offset: r.reals - 1, values: [1, 2]) })
        refused("reference NaN", "NaN", { try attacked.addReference(device: 2, offset: 0, values: [1, .infinity]) })
        try stream(r, into: attacked, seed: 5)
        // ... and after them: replays.
        refused("duplicate", "duplicate", { try attacked.add(device: 1, first: 0, count: 2, samples: run) })
        refused("overlap", "overlap", { try attacked.addReference(device: 2, offset: 10, values: [1, 2, 3]) })
        let a = clean.finish()
        let b = attacked.finish()
        XCTAssertEqual(a.aggregate, b.aggregate)
        XCTAssertEqual(a.error, b.error)
    }
}
