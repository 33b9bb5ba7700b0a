import XCTest

@testable import Radio

final class PowerDelayProfileTests: XCTestCase {
    /// Row counts of Tables 7.7.2-1 to 7.7.2-5. TDL-D has 13 taps and TDL-E
    /// 14 taps, but tap 1 of each is listed twice (LOS + Rayleigh).
    func testRowCounts() {
        XCTAssertEqual(TDLProfile.a.taps.count, 23)
        XCTAssertEqual(TDLProfile.b.taps.count, 23)
        XCTAssertEqual(TDLProfile.c.taps.count, 24)
        XCTAssertEqual(TDLProfile.d.taps.count, 14)
        XCTAssertEqual(TDLProfile.e.taps.count, 15)
    }

    func testSpotValues() {
        let a = TDLProfile.a.taps
        XCTAssertEqual(a[0], DelayTap(normalizedDelay: 0.0, powerDB: -13.4))
        XCTAssertEqual(a[1], DelayTap(normalizedDelay: 0.3819, powerDB: 0.0))
        XCTAssertEqual(a[22], DelayTap(normalizedDelay: 9.6586, powerDB: -29.7))

        let b = TDLProfile.b.taps
        XCTAssertEqual(b[5], DelayTap(normalizedDelay: 0.2986, powerDB: -1.2))
        XCTAssertEqual(b[22], DelayTap(normalizedDelay: 4.7834, powerDB: -11.3))

        let c = TDLProfile.c.taps
        XCTAssertEqual(c[5], DelayTap(normalizedDelay: 0.6366, powerDB: 0.0))
        XCTAssertEqual(c[23], DelayTap(normalizedDelay: 8.6523, powerDB: -22.8))

        let d = TDLProfile.d.taps
        XCTAssertEqual(d[0], DelayTap(normalizedDelay: 0.0, powerDB: -0.2, isLineOfSight: true))
        XCTAssertEqual(d[1], DelayTap(normalizedDelay: 0.0, powerDB: -13.5))
        XCTAssertEqual(d[12], DelayTap(normalizedDelay: 9.708, powerDB: -30.0))
        XCTAssertEqual(d[13], DelayTap(normalizedDelay: 12.525, powerDB: -27.7))

        let e = TDLProfile.e.taps
        XCTAssertEqual(e[0], DelayTap(normalizedDelay: 0.0, powerDB: -0.03, isLineOfSight: true))
        XCTAssertEqual(e[1], DelayTap(normalizedDelay: 0.0, powerDB: -22.03))
        XCTAssertEqual(e[14], DelayTap(normalizedDelay: 20.6519, powerDB: -29.2))
    }

    func testLineOfSightFlagsAndKFactor() {
        for profile in TDLProfile.allCases {
            let losRows = profile.taps.filter(\.isLineOfSight)
            if profile.isLineOfSight {
                XCTAssertEqual(losRows.count, 1, profile.rawValue)
                XCTAssertTrue(profile.taps[0].isLineOfSight, profile.rawValue)
                // K = P_LOS - P_Rayleigh of tap 1.
                let k = profile.taps[0].powerDB - profile.taps[1].powerDB
                XCTAssertEqual(profile.kFactorDB!, k, accuracy: 1e-9, profile.rawValue)
            } else {
                XCTAssertTrue(losRows.isEmpty, profile.rawValue)
                XCTAssertNil(profile.kFactorDB)
            }
        }
        XCTAssertEqual(TDLProfile.d.kFactorDB, 13.3)
        XCTAssertEqual(TDLProfile.e.kFactorDB, 22.0)
    }

    /// The tables are normalised to unit RMS delay spread (Section 7.7.3).
    /// Counting every row, LOS included, gives A 1.0001, B 1.0000, C 1.0000,
    /// D 0.9937, E 1.0002; the D residual comes from the rounding of the table.
    func testNormalizedRMSDelaySpreadIsOne() {
        let expected: [TDLProfile: Double] = [.a: 1.0001, .b: 1.0000, .c: 1.0000, .d: 0.9937, .e: 1.0002]
        for profile in TDLProfile.allCases {
            let spread = rmsDelaySpread(profile.taps)
            XCTAssertEqual(spread, 1.0, accuracy: 0.01, profile.rawValue)
            XCTAssertEqual(spread, expected[profile]!, accuracy: 1e-4, profile.rawValue)
        }
    }

    private func rmsDelaySpread(_ taps: [DelayTap]) -> Double {
        let powers = taps.map { pow(10.0, $0.powerDB / 10.0) }
        let total = powers.reduce(0, +)
        let mean = zip(powers, taps).map { $0 * $1.normalizedDelay }.reduce(0, +) / total
        let second =
            zip(powers, taps).map { $0 * $1.normalizedDelay * $1.normalizedDelay }
            .reduce(0, +) / total
        return (second - mean * mean).squareRoot()
    }

    func testCodableRawValues() {
        XCTAssertEqual(TDLProfile(rawValue: "TDL-C"), .c)
        XCTAssertEqual(TDLProfile.allCases.map(\.rawValue), ["TDL-A", "TDL-B", "TDL-C", "TDL-D", "TDL-E"])
    }
}

final class PathLossTests: XCTestCase {
    // All hand computations use fc = 3.5 GHz, hUT = 1.5 m, c = 3e8 m/s,
    // log10(3.5) = 0.544068, so 20 log10(fc) = 10.881361.
    let umi = PathLossModel(scenario: .umi, carrierHz: 3.5e9)
    let uma = PathLossModel(scenario: .uma, carrierHz: 3.5e9)

    func testDefaults() {
        XCTAssertEqual(umi.baseStationHeight, 10)
        XCTAssertEqual(uma.baseStationHeight, 25)
        XCTAssertEqual(umi.userHeight, 1.5)
    }

    func testBreakpointDistance() {
        // UMi: 4 * (10 - 1) * (1.5 - 1) * 3.5e9 / 3e8 = 4 * 9 * 0.5 * 11.6667 = 210 m
        XCTAssertEqual(umi.breakpointDistance, 210.0, accuracy: 1e-9)
        // UMa: 4 * (25 - 1) * (1.5 - 1) * 3.5e9 / 3e8 = 48 * 11.6667 = 560 m
        XCTAssertEqual(uma.breakpointDistance, 560.0, accuracy: 1e-9)
    }

    func testUMiValues() {
        // d2D = 100 m < d'BP: d3D = sqrt(100^2 + 8.5^2) = 100.360600, log10 = 2.001563
        // PL1 = 32.4 + 21 * 2.001563 + 10.881361 = 32.4 + 42.032828 + 10.881361 = 85.3142
        XCTAssertEqual(umi.pathLossDB(distance2D: 100, lineOfSight: true), 85.3142, accuracy: 1e-3)
        // d2D = 500 m > d'BP: d3D = 500.072245, log10 = 2.699033
        // d'BP^2 + 8.5^2 = 44100 + 72.25 = 44172.25, log10 = 4.645150
        // PL2 = 32.4 + 40 * 2.699033 + 10.881361 - 9.5 * 4.645150
        //     = 32.4 + 107.961310 + 10.881361 - 44.128920 = 107.1138
        XCTAssertEqual(umi.pathLossDB(distance2D: 500, lineOfSight: true), 107.1138, accuracy: 1e-3)
        // NLOS at 100 m: PL' = 35.3 * 2.001563 + 22.4 + 21.3 * 0.544068 - 0
        //     = 70.655183 + 22.4 + 11.588649 = 104.6438 > PL_LOS = 85.3142
        XCTAssertEqual(umi.pathLossDB(distance2D: 100, lineOfSight: false), 104.6438, accuracy: 1e-3)
    }

    func testUMaValues() {
        // d2D = 200 m < d'BP: d3D = sqrt(200^2 + 23.5^2) = 201.375892, log10 = 2.304007
        // PL1 = 28 + 22 * 2.304007 + 10.881361 = 28 + 50.688165 + 10.881361 = 89.5695
        XCTAssertEqual(uma.pathLossDB(distance2D: 200, lineOfSight: true), 89.5695, accuracy: 1e-3)
        // d2D = 1000 m > d'BP: d3D = 1000.276087, log10 = 3.000120
        // d'BP^2 + 23.5^2 = 313600 + 552.25 = 314152.25, log10 = 5.497140
        // PL2 = 28 + 40 * 3.000120 + 10.881361 - 9 * 5.497140
        //     = 28 + 120.004795 + 10.881361 - 49.474262 = 109.4119
        XCTAssertEqual(uma.pathLossDB(distance2D: 1000, lineOfSight: true), 109.4119, accuracy: 1e-3)
        // NLOS at 200 m: PL' = 13.54 + 39.08 * 2.304007 + 10.881361 - 0
        //     = 13.54 + 90.040612 + 10.881361 = 114.4620
        XCTAssertEqual(uma.pathLossDB(distance2D: 200, lineOfSight: false), 114.4620, accuracy: 1e-3)
    }

    func testNLOSNeverBelowLOS() {
        for model in [umi, uma, PathLossModel(scenario: .umi, carrierHz: 28e9, userHeight: 8)] {
            for d in stride(from: 10.0, through: 5000.0, by: 7.5) {
                XCTAssertGreaterThanOrEqual(
                    model.pathLossDB(distance2D: d, lineOfSight: false),
                    model.pathLossDB(distance2D: d, lineOfSight: true))
            }
        }
    }

    /// At d2D = d'BP, d3D^2 = d'BP^2 + (hBS - hUT)^2, so PL2 - PL1
    /// = (40 - n1) log10(d3D) - w log10(d3D^2) = 0 with (n1, w) = (21, 9.5) or (22, 9).
    func testContinuityAtBreakpoint() {
        for model in [umi, uma, PathLossModel(scenario: .uma, carrierHz: 2e9, userHeight: 3)] {
            let dBP = model.breakpointDistance
            let below = model.pathLossDB(distance2D: dBP * (1 - 1e-9), lineOfSight: true)
            let above = model.pathLossDB(distance2D: dBP * (1 + 1e-9), lineOfSight: true)
            XCTAssertEqual(below, above, accuracy: 1e-6, model.scenario.rawValue)
        }
    }

    func testShadowing() {
        XCTAssertEqual(umi.shadowingStdDB(lineOfSight: true), 4.0)
        XCTAssertEqual(umi.shadowingStdDB(lineOfSight: false), 7.82)
        XCTAssertEqual(uma.shadowingStdDB(lineOfSight: true), 4.0)
        XCTAssertEqual(uma.shadowingStdDB(lineOfSight: false), 6.0)
    }

    func testLineOfSightProbability() {
        let tallUMa = PathLossModel(scenario: .uma, carrierHz: 3.5e9, userHeight: 18)
        for model in [umi, uma, tallUMa] {
            for d in [0.0, 1.0, 10.0, 17.9, 18.0] {
                XCTAssertEqual(model.lineOfSightProbability(distance2D: d), 1.0)
            }
            for d in stride(from: 18.5, through: 5000.0, by: 3.5) {
                let p = model.lineOfSightProbability(distance2D: d)
                XCTAssertTrue(p > 0 && p <= 1, "\(model.scenario) \(d) \(p)")
            }
        }
        // UMi, 100 m: 18/100 + exp(-100/36) * (1 - 0.18) = 0.18 + 0.062177 * 0.82 = 0.230985
        XCTAssertEqual(umi.lineOfSightProbability(distance2D: 100), 0.230985, accuracy: 1e-6)
        // UMa, 100 m, hUT = 1.5 (C' = 0): 0.18 + exp(-100/63) * 0.82 = 0.18 + 0.204477 * 0.82 = 0.347671
        XCTAssertEqual(uma.lineOfSightProbability(distance2D: 100), 0.347671, accuracy: 1e-6)
        // UMa, 100 m, hUT = 18: C' = (5/10)^1.5 = 0.353553;
        // factor = 1 + 0.353553 * 1.25 * 1^3 * exp(-100/150) = 1 + 0.353553 * 1.25 * 0.513417 = 1.226900
        // P = 0.347671 * 1.226900 = 0.426558
        XCTAssertEqual(tallUMa.lineOfSightProbability(distance2D: 100), 0.426558, accuracy: 1e-6)
        // C'(hUT) = 0 at exactly 13 m.
        let uma13 = PathLossModel(scenario: .uma, carrierHz: 3.5e9, userHeight: 13)
        XCTAssertEqual(uma13.lineOfSightProbability(distance2D: 100), 0.347671, accuracy: 1e-6)
    }
}
