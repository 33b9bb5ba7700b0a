import Foundation
import Radio
import Wire
import XCTest

@testable import BaseStation
@testable import EdgeNode

/// Every kind of broken or hostile frame at a live base station (in memory, beside a real
/// firmware node): each is dropped and counted under its reason in summary.json, the round
/// completes with both nodes' updates, and the global adapter stays finite.
final class HostileFramesTests: XCTestCase {
    func testHostileFramesAreCountedByReasonAndTheRoundCompletes() throws {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("h", pi5)], rounds: 1, roundTimeoutS: 20,
            federationExtra: "sample_format = \"cf32\"")
        try fleet.startFirmware("a", profile: pi4)
        let h = ScriptedNode("h", on: fleet.network)
        let strangers = (0..<20).map { ScriptedNode("stranger-\($0)", on: fleet.network) }
        fleet.start {
            for s in strangers {
                try s.send(
                    Hello(
                        name: s.name, profile: "x", txPowerW: 1, antennas: 1, dacBits: 8, sustainedGFLOPS: 1,
                        flopBudgetPerRound: 1, joulesPerGFLOP: 1, ramBytes: 1
                    ).frame(round: 0, node: 0))
            }
            try h.register()
            let start = try RoundStart(frame: try XCTUnwrap(h.next(.roundStart)))
            let update = start.adapter.map { _ in Float(1e-3) }
            try h.report(1, update: update)
            let order = try Transmit(frame: try XCTUnwrap(h.next(.transmit)))
            let frames = try Modulator(dacBits: 12, frameSymbols: 8).frames(
                for: update, order: order, round: 1, node: UInt32(h.index))
            let symbols = try XCTUnwrap(frames.first { $0.type == .symbols })
            func raw(_ data: Data) throws { try h.transport.send(data) }
            func edited(_ edit: (inout Frame) -> Void) throws {
                var f = symbols
                edit(&f)
                try h.send(f)
            }
            let good = symbols.encoded()
            try raw(good.prefix(30)) // truncated
            var big = good
            big.replaceSubrange(
                40..<44, with: withUnsafeBytes(of: UInt32(Frame.maximumPayload + 1).littleEndian, Array.init))
            try raw(big) // oversized
            var version = good
            version[4] ^= 0x7F
            try raw(version) // wrong version
            var crc = good
            crc[crc.count - 1] ^= 0xFF
            try raw(crc) // bad CRC
            try edited { $0.round = 7 } // wrong round
            try edited { $0.firstSymbol = 1_000_000 } // out of range
            try edited { $0.node = UInt32(h.index + 1) } // wrong node field
            try edited { f in // NaN
                var p = f.payload
                p.replaceSubrange(0..<4, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))
                f.payload = p
            }
            for f in frames.dropLast() { try h.send(f) } // the honest transmission …
            try h.send(symbols) // … a replay of its first frame …
            try h.send(try XCTUnwrap(frames.last)) // … and its round end
            try h.awaitShutdown()
        }
        let summary = try fleet.run()
        let dropped = summary.framesDroppedByReason
        for reason in [
            "truncated", "oversized", "wrong version", "bad CRC", "wrong round", "out of range", "wrong node field",
            "NaN/Inf",
            "duplicate or replayed", "unknown peer",
        ] {
            XCTAssertGreaterThanOrEqual(dropped[reason] ?? 0, 1, "\(reason): \(dropped)")
        }
        XCTAssertEqual(dropped["unknown peer"], 20)
        let round1 = try fleet.metrics().filter { $0["round"] == "1" }
        XCTAssertEqual(round1.map { $0["status"]! }, ["ok", "ok", "ok"], "\(round1)")
        XCTAssertTrue(fleet.server.global.flattened().allSatisfy(\.isFinite))
    }
}
