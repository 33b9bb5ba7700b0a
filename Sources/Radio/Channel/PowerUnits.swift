import Foundation

/// Thermal noise of a receiver.
public enum ThermalNoise {
    /// Boltzmann's constant, J/K.
    public static let boltzmann = 1.380649e-23
    /// Noise power k·T·B·NF in watts.
    public static func power(bandwidthHz: Double, noiseFigureDB: Double, temperatureK: Double = 290) -> Double {
        boltzmann * temperatureK * bandwidthHz * pow(10, noiseFigureDB / 10)
    }
}

/// dBm ↔ watts (dBm only at the edges, in configuration; everything inside is watts).
public enum PowerUnits {
    /// Watts of a power in dBm: 10^((dBm − 30)/10).
    public static func watts(dBm: Double) -> Double { pow(10, (dBm - 30) / 10) }
    /// dBm of a power in watts: 10·log10(W) + 30.
    public static func dBm(watts: Double) -> Double { 10 * log10(watts) + 30 }
}
