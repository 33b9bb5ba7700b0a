import Foundation
import Wire

/// A node's credit for one round's symbols frames: the transmit order's window, and what the base
/// station grants as it takes the frames in. A base station bounds its frames in flight this way
/// whatever the number of nodes (`basestation stress` does); `serve` sends no window, and then
/// every frame may go at once. Reference and round-end frames need no credit.
struct TransmitWindow {
    let round: UInt32
    /// Symbols frames that may still go; nil: no window.
    private(set) var credit: Int?

    init(round: UInt32, order: Transmit) {
        self.round = round
        credit = order.window
    }

    /// How the wait for credit ended.
    enum Wait: Equatable {
        /// One frame's credit is taken: the frame may go.
        case mayGo
        /// A frame other than a grant of this round came first; the transmission stops and the
        /// caller acts on it (a shutdown ends the run, a later round's order the transmission).
        case interrupted(Inbound)
        /// No grant before the deadline.
        case timedOut
    }

    /// Takes one frame's credit, first receiving until a grant of this round arrives when none is
    /// left. Grants of other rounds (late ones of an earlier round) are skipped.
    ///
    /// - Parameter receive: the next message from the base station (`Inbound.decode`d: a grant that
    ///   does not decode never gets here), or nil after a short wait.
    mutating func take(until deadline: Date, receive: () throws -> Inbound?) rethrows -> Wait {
        guard var left = credit else { return .mayGo }
        while left == 0 {
            guard Date() < deadline else { return .timedOut }
            guard let inbound = try receive() else { continue }
            guard case .grant(let grant) = inbound.message else { return .interrupted(inbound) }
            guard inbound.round == round else { continue }
            left = min(left + grant.frames, Int(Int32.max))
        }
        credit = left - 1
        return .mayGo
    }
}
