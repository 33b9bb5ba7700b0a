import LinearAlgebra
import XCTest

@testable import Radio

/// Helpers shared by the channel-model tests.
extension XCTestCase {
    /// Unit mean gain (no path loss), i.i.d. antennas, block fading.
    func unitGain(
        profile: TDLProfile = .a, devices: Int, rx: Int, tx: Int, subcarriers: Int = 8,
        delaySpread: Double = 100e-9
    ) -> ChannelConfiguration {
        var c = ChannelConfiguration()
        c.pathLoss = nil
        c.profile = profile
        c.devices = devices
        c.receiveAntennas = rx
        c.transmitAntennas = tx
        c.subcarriers = subcarriers
        c.delaySpreadS = delaySpread
        return c
    }

    /// Tap matrices of device k with each tap divided by √p_l: entries of unit variance.
    func normalisedTaps(_ model: ChannelModel, device k: Int) -> [ComplexMatrix<Double>] {
        model.tapMatrices(device: k).enumerated().map { l, m in (1 / model.tapPowers[l].squareRoot()) * m }
    }
}
