import Configuration
import Foundation
import TOMLKit

/// One device class (a `hwprofiles/*.toml` file). Every figure is a budget the emulator holds the
/// device to; each file cites where its figures come from.
public struct HardwareProfile: Equatable, Sendable {
    /// Short name, e.g. "raspberry-pi-4".
    public var name: String
    /// RAM the fine-tuning process may use, bytes.
    public var ramBytes: Double
    /// Flash / storage the firmware may use, bytes.
    public var flashBytes: Double
    /// Sustained FP32 throughput, GFLOP/s.
    public var sustainedGFLOPS: Double
    /// FLOPs local training may spend per round.
    public var flopBudgetPerRound: Double
    /// Energy per GFLOP of compute, joules.
    public var joulesPerGFLOP: Double
    /// Peak transmit power, dBm.
    public var txPowerDBm: Double
    /// Transmit energy per round, joules.
    public var txEnergyPerRoundJ: Double
    /// Airtime the device may use per round, seconds.
    public var airtimeBudgetS: Double
    /// Transmit antennas of the radio module.
    public var antennas: Int
    /// DAC resolution, bits.
    public var dacBits: Int

    enum Key: String, CaseIterable {
        case name
        case ramBytes = "ram_bytes"
        case flashBytes = "flash_bytes"
        case sustainedGFLOPS = "sustained_gflops"
        case flopBudgetPerRound = "flop_budget_per_round"
        case joulesPerGFLOP = "joules_per_gflop"
        case txPowerDBm = "tx_power_dbm"
        case txEnergyPerRoundJ = "tx_energy_per_round_j"
        case airtimeBudgetS = "airtime_budget_s"
        case antennas
        case dacBits = "dac_bits"
    }

    /// Loads and validates a profile; errors name the file, the key and the problem.
    public static func load(_ path: String) throws -> HardwareProfile {
        func fail(_ key: String?, _ problem: String) -> HardwareProfileError {
            HardwareProfileError(file: path, key: key, problem: problem)
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw fail(nil, "cannot read the file")
        }
        let table: TOMLTable
        // The structure first: the parser under TOMLKit aborts on some malformed documents.
        do { try TOMLSyntax.check(text) } catch let e as TOMLSyntaxError { throw fail(nil, e.description) }
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw fail(
                nil,
                "TOML syntax error at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        }
        let known = Set(Key.allCases.map(\.rawValue))
        for key in table.keys.sorted() where !known.contains(key) {
            throw fail(key, "unknown key (known: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        func number(_ key: Key, _ range: ClosedRange<Double>) throws -> Double {
            guard let value = table[key.rawValue] else { throw fail(key.rawValue, "missing") }
            let v: Double
            if let d = value.double {
                v = d
            } else if let i = value.int {
                v = Double(i)
            } else {
                throw fail(key.rawValue, "must be a number")
            }
            guard v.isFinite, range.contains(v) else {
                throw fail(key.rawValue, "\(v) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return v
        }
        func integer(_ key: Key, _ range: ClosedRange<Int>) throws -> Int {
            guard let value = table[key.rawValue] else { throw fail(key.rawValue, "missing") }
            guard let i = value.int else { throw fail(key.rawValue, "must be an integer") }
            guard range.contains(i) else {
                throw fail(key.rawValue, "\(i) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return i
        }
        guard let name = table[Key.name.rawValue]?.string, !name.isEmpty else {
            throw fail("name", "missing or not a string")
        }
        return HardwareProfile(
            name: name,
            ramBytes: try number(.ramBytes, 1e3...1e13),
            flashBytes: try number(.flashBytes, 1e3...1e14),
            sustainedGFLOPS: try number(.sustainedGFLOPS, 1e-4...1e6),
            flopBudgetPerRound: try number(.flopBudgetPerRound, 1...1e20),
            joulesPerGFLOP: try number(.joulesPerGFLOP, 1e-6...1e3),
            txPowerDBm: try number(.txPowerDBm, -20...40),
            txEnergyPerRoundJ: try number(.txEnergyPerRoundJ, 1e-9...1e4),
            airtimeBudgetS: try number(.airtimeBudgetS, 1e-6...1e4),
            antennas: try integer(.antennas, 1...64),
            dacBits: try integer(.dacBits, 1...32))
    }

    /// Peak transmit power in watts.
    public var txPowerW: Double { pow(10, (txPowerDBm - 30) / 10) }
}

/// A profile that cannot be used, naming file, key and problem.
public struct HardwareProfileError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String?
    public var problem: String
    public var description: String { "\(file): \(key.map { "key '\($0)': " } ?? "")\(problem)" }
}
