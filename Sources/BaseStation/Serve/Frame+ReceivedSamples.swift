import Radio
import Wire

extension Frame {
    /// A symbols frame's samples for `StreamingReceiver.add(device:first:count:received:)`: a cf32
    /// payload as its own bytes (no copy), ci16 codes scaled to Floats.
    var receivedSamples: ReceivedSamples {
        format == .cf32 ? .littleEndianBytes(payload) : .floats(samples())
    }
}
