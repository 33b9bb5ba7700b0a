import Foundation
import Radio
import Randomness
import Wire

/// What one synthetic node sent.
struct FloodTally: Sendable {
    var frames = 0
    var bytes = 0
    var rounds = 0
    var seconds = 0.0
}

/// One synthetic edge node of `edgenode flood`: the real protocol at full speed, no model.
///
/// Protocol mode: hello → welcome; then per `SyntheticRound` an `UpdateReady` for its size, and
/// per `Transmit` the round's OFDM symbols as symbols frames of `frameSymbols` each (within the
/// order's window and the grants that follow), then the round end, until a shutdown or the deadline. Raw mode (the
/// throughput probe's peer): no
/// protocol at all, the same symbols frames sent back to back until the deadline.
///
/// Frames are built once per shape: the payload (random CN(0, 1/rows) samples) is shared by every
/// frame, and only the header (round, first symbol) changes, its CRC combined with the payload's.
final class FloodNode {
    let name: String
    let transport: NodeTransport
    let frameSymbols: Int
    let format: SampleFormat
    let deadline: Date
    let seed: UInt64
    private(set) var tally = FloodTally()
    /// The payload of a frame of `count` OFDM symbols × N_sc × rows, and its CRC, by shape.
    private var payloads: [String: (data: Data, crc: UInt32, step: Float)] = [:]

    init(name: String, transport: NodeTransport, frameSymbols: Int, format: SampleFormat, deadline: Date, seed: UInt64)
    {
        self.name = name
        self.transport = transport
        self.frameSymbols = frameSymbols
        self.format = format
        self.deadline = deadline
        self.seed = seed
    }

    /// Protocol mode until a shutdown or the deadline.
    func run() throws {
        let start = Date()
        defer { tally.seconds = Date().timeIntervalSince(start) }
        try send(
            Hello(
                name: name, profile: "synthetic", txPowerW: 1, antennas: 4, dacBits: 16, sustainedGFLOPS: 1,
                flopBudgetPerRound: 0,
                joulesPerGFLOP: 0, ramBytes: 0
            ).frame(round: 0, node: 0))
        var index: UInt32?
        var reals = 0
        // A message that cut a windowed transmission short, acted on next.
        var interrupting: Inbound?
        while Date() < deadline {
            guard let inbound = try interrupting ?? receiveMessage() else { continue }
            interrupting = nil
            switch inbound.message {
            case .welcome(let welcome): index = UInt32(welcome.index)
            case .syntheticRound(let synthetic):
                guard let node = index else { continue }
                reals = synthetic.reals
                try send(
                    UpdateReady(
                        loss: 0, steps: 1, tokens: 0, flops: 0, computeSeconds: 0, energyJ: 0,
                        updateEnergy: Double(reals) / 2,
                        reals: reals
                    ).frame(round: inbound.round, node: node))
            case .transmit(let order):
                guard let node = index, reals > 0 else { continue }
                interrupting = try transmit(order, reals: reals, round: inbound.round, node: node)
            case .shutdown: return
            default: continue
            }
        }
    }

    /// Raw mode: `subcarriers × rows` symbols frames back to back until the deadline.
    func runRaw(subcarriers: Int, rows: Int) throws {
        let start = Date()
        defer { tally.seconds = Date().timeIntervalSince(start) }
        var first = 0
        while Date() < deadline {
            try sendSymbols(
                round: 0, node: 0, first: UInt32(first), count: frameSymbols, subcarriers: subcarriers, rows: rows)
            first = (first + frameSymbols) % (1 << 30)
        }
    }

    /// The round's symbols frames within the order's window (waiting for grants), then its round
    /// end. Returns the message that cut the transmission short (no round end then), if one did; at
    /// the deadline it stops without one.
    private func transmit(_ order: Transmit, reals: Int, round: UInt32, node: UInt32) throws -> Inbound? {
        let grid = try ResourceGrid(subcarriers: order.subcarriers, streams: order.streams)
        let symbols = grid.ofdmSymbols(forReals: reals)
        let rows = order.mode == .aircomp ? order.antennas : order.streams
        var window = TransmitWindow(round: round, order: order)
        var frames = 0
        for first in stride(from: 0, to: symbols, by: frameSymbols) {
            switch try window.take(until: deadline, receive: receiveMessage) {
            case .mayGo: break
            case .interrupted(let inbound): return inbound
            case .timedOut: return nil
            }
            try sendSymbols(
                round: round, node: node, first: UInt32(first), count: min(frameSymbols, symbols - first),
                subcarriers: order.subcarriers, rows: rows)
            frames += 1
        }
        try send(RoundEnd(frames: frames, ofdmSymbols: symbols).frame(round: round, node: node))
        tally.rounds += 1
        return nil
    }

    /// The next message from the base station (`Inbound.decode`), or nil after the transport's
    /// wait. A synthetic node's base station is the stress harness's own: one that sends what does
    /// not decode is a failure of the run, thrown.
    private func receiveMessage() throws -> Inbound? {
        guard let data = try transport.receive() else { return nil }
        return try Inbound.decode(data).get()
    }

    private func sendSymbols(round: UInt32, node: UInt32, first: UInt32, count: Int, subcarriers: Int, rows: Int) throws
    {
        let payload = self.payload(count: count, subcarriers: subcarriers, rows: rows)
        var f = Frame(type: .symbols, round: round, node: node, payload: payload.data)
        f.firstSymbol = first
        f.symbolCount = UInt32(count)
        f.subcarriers = UInt32(subcarriers)
        f.antennas = UInt32(rows)
        f.format = format
        f.scale = payload.step
        let data = f.encoded(payloadCRC: payload.crc)
        try transport.send(data)
        tally.frames += 1
        tally.bytes += data.count
    }

    private func send(_ frame: Frame) throws { try transport.send(frame.encoded()) }

    /// The shared payload for a shape, made on first use.
    private func payload(count: Int, subcarriers: Int, rows: Int) -> (data: Data, crc: UInt32, step: Float) {
        let key = "\(count)x\(subcarriers)x\(rows)"
        if let p = payloads[key] { return p }
        var g = SeededGenerator(seed: seed, stream: [UInt64(count), UInt64(subcarriers), UInt64(rows)])
        let sigma = Float((0.5 / Double(rows)).squareRoot())
        let samples = (0..<(2 * count * subcarriers * rows)).map { _ in Float(g.normal()) * sigma }
        let step: Float = format == .ci16 ? 8 * sigma / 32767 : 1
        let frame = Frame.symbols(
            round: 0, node: 0, firstSymbol: 0, symbolCount: UInt32(count), subcarriers: UInt32(subcarriers),
            antennas: UInt32(rows), samples: samples[...], format: format, step: step)
        let p = (frame.payload, frame.payload.withUnsafeBytes { CRC32.update(0, $0) }, frame.scale)
        payloads[key] = p
        return p
    }
}
