import Radio
import Wire

extension Frame {
    /// A symbols frame's samples for `StreamingReceiver.add(device:first:count:received:)`: a cf32
    /// payload as its own bytes (no copy), ci16 codes scaled to Floats.
    var receivedSamples: ReceivedSamples {
        format == .cf32 ? .littleEndianBytes(payload) : .floats(samples())
    }
}

extension StreamingReceiver {
    /// Sums device `j`'s symbols frame in, as `serve` and `stress` both do: a frame of another
    /// shape than the round's (N_sc × the receiver's input rows) is refused as `wrongShape`, one the
    /// receiver refuses (outside the round, a replay, NaN) with its `ReceptionRefusal`.
    func add(symbols f: Frame, device j: Int) throws {
        guard Int(f.subcarriers) == grid.subcarriers, Int(f.antennas) == inputRows else {
            throw FrameError(
                offset: 24,
                problem:
                    "frame is \(f.subcarriers) subcarriers × \(f.antennas) rows, the round expects "
                    + "\(grid.subcarriers) × \(inputRows)",
                reason: .wrongShape)
        }
        try add(device: j, first: Int(f.firstSymbol), count: Int(f.symbolCount), received: f.receivedSamples)
    }
}
