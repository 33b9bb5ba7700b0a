import Dispatch
import Wire

extension FederationServer {
    /// Seconds the base station waits at the end for the active nodes' farewells: enough for a
    /// shutdown to cross a lossy, delayed backhaul (TCP retransmits in well under a second at
    /// 200 ms each way), never longer than a round may take.
    var farewellTimeoutS: Double { min(settings.roundTimeoutS, 10) }

    /// Tells every node that ever registered that the run is over; from now on a node that says
    /// hello is told so too instead of welcomed (`register`).
    func tellEveryNodeTheRunIsOver() {
        runOver = true
        for i in nodes.indices where nodes[i].hello != nil { tellRunIsOver(i, awaitFarewell: nodes[i].active) }
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
                guard f.type == .farewell else { throw StaleFrame(round: f.round, current: nil) }
                _ = try Farewell(frame: f)
                awaitingFarewell.remove(k)
            }, done: { awaitingFarewell.isEmpty })
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

    /// The answer to a hello from a scenario node once the run is over: the shutdown it missed.
    func answerHelloAfterRun(_ index: Int) { tellRunIsOver(index, awaitFarewell: true) }

    /// Sends node `index` the run's shutdown; its farewell is then awaited if asked and the
    /// shutdown could be handed over (one that could not will bring no farewell).
    private func tellRunIsOver(_ index: Int, awaitFarewell: Bool) {
        let sent = send(
            Shutdown(.runOver, reason: "run complete").frame(round: UInt32(settings.rounds), node: UInt32(index)),
            to: index)
        if sent && awaitFarewell { awaitingFarewell.insert(index) }
    }
}
