import Foundation
import Wire

extension EdgeFirmware {
    /// Sends the round's frames in order, each symbols frame within the transmit order's window:
    /// with no credit left the node waits (up to `bsTimeoutS` per grant) for the base station's
    /// grant. A frame that comes instead (a shutdown, the next round) ends the transmission and is
    /// the next order; a broken link ends it too. Either way the base station finishes the round
    /// without the missing symbols.
    func transmit(_ round: UInt32, _ frames: [Frame], _ window: inout TransmitWindow) {
        do {
            for frame in frames {
                if frame.type == .symbols {
                    switch try window.take(
                        until: Date(timeIntervalSinceNow: bsTimeoutS), receive: { heard(try receive(within: 1)) })
                    {
                    case .mayGo: break
                    case .interrupted(let next):
                        note(
                            "round \(round): a \(next.type) frame came before the grant the transmission waited for; "
                                + "it stops here"
                        )
                        interrupting = next
                        return
                    case .timedOut:
                        note("round \(round): no grant within \(Int(bsTimeoutS)) s; the transmission stops here")
                        return
                    }
                }
                try send(frame)
                watchdog.kick(state.name)
            }
        } catch { note("round \(round): the transmission broke off: \(error)") }
    }
}
