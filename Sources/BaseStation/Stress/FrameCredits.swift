/// The symbols frames a round may have in flight, bounded by one pool whatever K is.
///
/// Without it every node's connection holds what libzmq reads ahead (the frame being decoded and
/// the pipe's high-water mark: about four 64 KiB frames a node), so the base station's memory grew
/// by ≈ 0.25 MB a node. With it, at most `pool` frames are granted and not yet done with, at any K:
/// a frame's credit comes back when the base station has handed it to the summing workers (or
/// refused it), not when it arrives, so the frames the receiver holds to batch them count too.
///
/// Credits go round the nodes still transmitting, a block at a time: the frames done with give
/// their credit to the next nodes in turn, so the nodes send in step and the receiver's batches
/// (the frames of the same OFDM symbols) fill. A node's round end returns its unused credit.
struct FrameCredits {
    let pool: Int
    /// Frames a grant carries: a grant per frame cost the base station and the nodes a message
    /// each (about a fifth of the throughput at K ≥ 16), so credits go in blocks.
    let block: Int
    /// Frames granted to each node and not yet arrived.
    private(set) var outstanding: [Int: Int] = [:]
    /// Σ outstanding; frames arrived and not yet done with; credits back and not granted again.
    private(set) var inFlight = 0, held = 0, returned = 0
    /// The nodes still transmitting, in the order credits go round.
    private var turn: [Int]
    private var next = 0

    /// - Parameters:
    ///   - pool: frames in flight at most (≥ 1).
    ///   - block: frames per grant (1…pool).
    ///   - nodes: the round's transmitting nodes.
    init(pool: Int, block: Int = 4, nodes: [Int]) {
        self.pool = max(1, pool)
        self.block = min(max(1, block), self.pool)
        turn = nodes
        for k in nodes { outstanding[k] = 0 }
        var left = self.pool
        while left > 0, !turn.isEmpty {
            let n = min(self.block, left)
            give(n)
            left -= n
        }
    }

    /// Each node's first credit, the window of its transmit order.
    func window(of k: Int) -> Int { outstanding[k] ?? 0 }

    /// A symbols frame from k arrived: whether k had credit for it (a node that ignores its
    /// window has the frame dropped, and nothing changes). Its credit stays taken until `released`.
    mutating func arrived(from k: Int) -> Bool {
        guard let n = outstanding[k], n > 0 else { return false }
        outstanding[k] = n - 1
        inFlight -= 1
        held += 1
        return true
    }

    /// n of the frames arrived are done with (summing, or refused): their credit goes on to the
    /// next nodes in turn, a block each, and what is less than a block at once when fewer than a
    /// block are in flight (so the last frames of the round are never held up). Returns the
    /// grants to send, one per node.
    mutating func released(_ n: Int) -> [(node: Int, frames: Int)] {
        let n = min(max(0, n), held)
        held -= n
        returned += n
        var grants: [Int: Int] = [:]
        while !turn.isEmpty, returned >= block || (returned > 0 && inFlight < block) {
            let frames = min(block, returned)
            returned -= frames
            if let g = give(frames) { grants[g.node, default: 0] += g.frames }
        }
        return grants.sorted { $0.key < $1.key }.map { (node: $0.key, frames: $0.value) }
    }

    /// k's transmission ended: its unused credit (and what came back meanwhile) goes round the
    /// others in blocks. Returns the grants to send.
    mutating func ended(_ k: Int) -> [(node: Int, frames: Int)] {
        guard let i = turn.firstIndex(of: k) else { return [] }
        var unused = (outstanding[k] ?? 0) + returned
        inFlight -= outstanding[k] ?? 0
        outstanding[k] = 0
        returned = 0
        turn.remove(at: i)
        if i < next { next -= 1 }
        next = turn.isEmpty ? 0 : next % turn.count
        var grants: [Int: Int] = [:]
        while unused > 0, !turn.isEmpty {
            let n = min(block, unused)
            if let g = give(n) { grants[g.node, default: 0] += g.frames }
            unused -= n
        }
        return grants.sorted { $0.key < $1.key }.map { (node: $0.key, frames: $0.value) }
    }

    /// n frames' credit to the next node in turn.
    @discardableResult
    private mutating func give(_ n: Int) -> (node: Int, frames: Int)? {
        guard !turn.isEmpty, n > 0 else { return nil }
        let k = turn[next]
        next = (next + 1) % turn.count
        outstanding[k, default: 0] += n
        inFlight += n
        return (k, n)
    }
}
