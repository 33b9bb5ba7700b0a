import Dispatch
import Wire

extension FederationServer {
    /// Seconds the base station waits at the end for the active nodes' farewells: enough for a
    /// shutdown to cross a lossy, delayed backhaul (TCP retransmits in well under a second at
    /// 200 ms each way), never longer than a round may take.
    var farewellTimeoutS: Double { min(settings.roundTimeoutS, 10) }

    /// Tells every node that ever registered that the run is over; from now on a node that says
    /// hello is told so too instead of welcomed, and its farewell awaited.
    func tellEveryNodeTheRunIsOver() {
        ingress.tellEveryNodeTheRunIsOver(
            Shutdown(.runOver, reason: "run complete"), round: UInt32(settings.rounds), awaitFarewells: true)
    }

    /// Waits until each active node told the run is over has said farewell (or `farewellTimeoutS`
    /// passes). Exiting at once could reset a connection whose shutdown is still in flight (a
    /// node's data arriving at a closed socket resets it, and the unacknowledged shutdown with
    /// it); that node would then wait out its silence timeout and exit with an error.
    func awaitFarewells() throws {
        let waited = clock.nanoseconds
        try pump(
            for: farewellTimeoutS,
            { k, f in
                guard case .farewell = f.message else { throw StaleFrame(round: f.round, current: nil) }
                ingress.awaitingFarewell.remove(k)
            }, done: { ingress.awaitingFarewell.isEmpty })
        let silent = awaitingFarewell.sorted().map { nodes[$0].name }
        if !silent.isEmpty {
            progress(
                "  no farewell within \(Int(farewellTimeoutS)) s from \(silent.joined(separator: ", ")) (they may "
                    + "not have heard the shutdown)"
            )
        } else if clock.seconds(since: waited) > 1 {
            progress(String(format: "  every node said farewell after %.1f s", clock.seconds(since: waited)))
        }
    }
}
