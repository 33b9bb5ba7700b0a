/// A 5G NR numerology (3GPP TS 38.211 §4.2, normal cyclic prefix): subcarrier spacing
/// Δf = 2^μ · 15 kHz, 14 OFDM symbols per slot, 2^μ slots per 1 ms subframe. What a carrier of
/// N_sc subcarriers puts on the air per second, against which an emulator's rate is read.
public struct Numerology: Equatable, Sendable {
    /// μ, 0…4 (Δf = 15, 30, 60, 120, 240 kHz; the table's data-channel numerologies).
    public let mu: Int

    public static let symbolsPerSlot = 14

    /// The numerology of `subcarrierSpacingHz`; nil unless it is one of the table's spacings.
    public init?(subcarrierSpacingHz: Double) {
        guard let mu = (0...4).first(where: { Double(15_000 << $0) == subcarrierSpacingHz }) else { return nil }
        self.mu = mu
    }

    /// Δf, Hz.
    public var subcarrierSpacingHz: Double { Double(15_000 << mu) }

    /// OFDM symbols per second on one antenna port: 14 per slot, 2^μ slots per millisecond.
    public var symbolsPerSecond: Double { Double(Self.symbolsPerSlot * 1000 << mu) }

    /// Complex frequency-domain samples per second that `transmitters` antennas (all devices' together)
    /// put on a carrier of `subcarriers` subcarriers.
    public func samplesPerSecond(subcarriers: Int, transmitters: Int) -> Double {
        Double(subcarriers) * Double(transmitters) * symbolsPerSecond
    }
}
