import Dispatch

extension StreamingReceiver {
    /// Checks device j's run of OFDM symbols first..<first+count and queues it for the workers.
    /// Blocks while `queueDepth` frames are waiting (backpressure).
    ///
    /// - Parameter samples: interleaved complex in the wire's order, sample (t, n, r) at
    ///   ((t − first)·N_sc + n)·rows + r, rows = `inputRows`.
    /// - Throws: `ReceptionRefusal` when the run does not fit the round, repeats symbols already
    ///   received, holds NaN/Inf, or is too large to sum exactly; nothing of it is summed then.
    public func add(device j: Int, first: Int, count: Int, samples: [Float]) throws {
        try add(device: j, first: first, count: count, received: .floats(samples))
    }

    /// `add` for samples as received (a cf32 frame's payload is summed from its own bytes).
    public func add(device j: Int, first: Int, count: Int, received samples: ReceivedSamples) throws {
        func refuse(_ problem: String, _ kind: ReceptionRefusal.Kind = .outOfRange) -> ReceptionRefusal {
            ReceptionRefusal(device: j, problem: problem, kind: kind)
        }
        guard (0..<devices).contains(j) else { throw refuse("no such device in this round (\(devices) transmit)") }
        guard first >= 0, count >= 1, first <= symbols - count else {
            throw refuse("OFDM symbols \(first)..<\(first + count) lie outside the round's \(symbols)")
        }
        let expected = 2 * count * grid.subcarriers * inputRows
        guard samples.count == expected else {
            throw refuse(
                "\(samples.count / 2) samples for \(count) OFDM symbols × \(grid.subcarriers) subcarriers × "
                    + "\(inputRows) rows"
            )
        }
        if let t = (first..<(first + count)).first(where: { arrived[j][$0] }) {
            throw refuse("OFDM symbol \(t) arrived before (a duplicate or replay)", .duplicateOrReplayed)
        }
        let largest = try samples.withUnsafeFloats { try Self.largestMagnitude($0, device: j) }
        guard largest * transforms[j].bound < ExactAccumulator.contributionLimit else {
            throw refuse(
                "a sample of magnitude \(largest) is beyond what the receiver can sum (the device's power and "
                    + "channel allow far less)"
            )
        }
        for t in first..<(first + count) { arrived[j][t] = true }
        framesAdded[j] += 1
        hold(device: j, range: first..<(first + count), samples: samples)
    }

    /// Gathers a checked frame with the others over the same OFDM symbols: the batch goes to the
    /// workers when every device's frame of those symbols is in it or it reaches `batchLimit`;
    /// when more than `holdLimit` frames (or `holdBytes`) wait, the largest batch goes.
    /// Why: devices run out of step, so consecutive frames seldom share their symbols, and each
    /// batch is one pass over the round's sum (too large for any cache): 8 bytes read and 8
    /// written per byte of an N_r = 16, N_t = 4 frame. Gathering only consecutive frames made
    /// batches of 1.5 frames at K = 4 and 3.3 at K = 16 in `stress`; this, 4.0 and 10.7.
    func hold(device j: Int, range: Range<Int>, samples: ReceivedSamples) {
        let i: Int
        if let found = pending.firstIndex(where: { $0.range == range }) {
            i = found
            pending[i].frames.append((j, samples))
        } else {
            i = pending.count
            pending.append((range, [(j, samples)]))
        }
        (heldFrames, heldBytes) = (heldFrames + 1, heldBytes + 4 * samples.count)
        if pending[i].frames.count >= min(devices, Self.batchLimit) {
            flush(batch: i)
        } else if heldFrames > holdLimit || heldBytes > Self.holdBytes {
            let largest = pending.indices.max { pending[$0].frames.count < pending[$1].frames.count } ?? 0
            flush(batch: largest)
        }
    }

    /// Hands every waiting batch to the workers (whether or not it is full: a caller whose
    /// senders wait for the held frames' credit calls it when nothing else is on its way).
    public func flush() {
        while !pending.isEmpty { flush(batch: 0) }
    }

    /// Hands waiting batch i (its frames all over the same OFDM symbols) to the workers.
    func flush(batch i: Int) {
        let (range, batch) = pending.remove(at: i)
        let sum = signal
        heldFrames -= batch.count
        framesHandedOver += batch.count
        heldBytes -= batch.reduce(0) { $0 + 4 * $1.samples.count }
        let gs = batch.map { transforms[$0.device] }
        enqueue(frames: batch.count) { band in
            Self.withPointers(batch.map(\.samples)[...]) { xs in
                sum.add(gs, samples: xs, first: range.lowerBound, count: range.count, band: band)
            }
        }
    }

    /// `body` with a pointer to each run's Floats (they stay valid for the call).
    static func withPointers<R>(
        _ runs: ArraySlice<ReceivedSamples>, _ pointers: [UnsafePointer<Float>] = [],
        _ body: ([UnsafePointer<Float>]) -> R
    ) -> R {
        guard let first = runs.first else { return body(pointers) }
        return first.withUnsafeFloats { withPointers(runs.dropFirst(), pointers + [$0.baseAddress!], body) }
    }

    /// Checks a run of device j's reference update (the reals it meant to send, for measuring the
    /// error) and queues it: its symbols s = Δ/c go into Σ_j w_j s_j and, on the air, into the
    /// noiseless Σ_j H_j B_j s_j. Each real is its own rank-1 term, so any split sums the same.
    public func addReference(device j: Int, offset: Int, values: [Float]) throws {
        func refuse(_ problem: String, _ kind: ReceptionRefusal.Kind = .outOfRange) -> ReceptionRefusal {
            ReceptionRefusal(device: j, problem: problem, kind: kind)
        }
        guard (0..<devices).contains(j) else { throw refuse("no such device in this round (\(devices) transmit)") }
        guard target != nil else { throw refuse("this receiver does not measure the error (no references)") }
        guard offset >= 0, !values.isEmpty, offset <= reals - values.count else {
            throw refuse("\(values.count) reference reals from \(offset) lie outside the update's \(reals)")
        }
        let range = offset..<(offset + values.count)
        if let other = referenceRanges[j].first(where: { $0.overlaps(range) }) {
            throw refuse("reference reals \(range) overlap \(other), which arrived before", .duplicateOrReplayed)
        }
        let inverse = 1 / scale
        let grid = self.grid
        try queueReference(
            device: j, reals: range, largestSymbol: try Self.largestMagnitude(values, device: j) * inverse
        ) { body in
            for (i, value) in values.enumerated() {
                let real = offset + i
                let v = value * inverse
                let (n, t, l) = grid.coordinates(ofSymbol: real / 2)
                body(n, t, l, real % 2 == 0 ? (v, 0) : (0, v))
            }
        }
    }

    /// Device j's intended symbols s_j as a whole block (L × S), instead of its reference reals:
    /// for callers that hold s_j itself (`ReceiveChain`). Counts as its whole reference.
    public func addIntended(device j: Int, symbols s: SubcarrierBlocks) throws {
        guard (0..<devices).contains(j), target != nil else {
            throw ReceptionRefusal(device: j, problem: "no such device, or not measuring")
        }
        guard s.subcarriers == grid.subcarriers, s.rows == grid.streams, s.columns == symbols,
            referenceRanges[j].isEmpty
        else {
            throw ReceptionRefusal(
                device: j,
                problem:
                    "intended symbols \(s.subcarriers)×\(s.rows)×\(s.columns) do not fit the round, or a reference "
                    + "arrived before"
            )
        }
        let grid = self.grid
        let reals = self.reals
        try queueReference(
            device: j, reals: 0..<reals, largestSymbol: try Self.largestMagnitude(s.interleaved, device: j)
        ) { body in
            for k in 0..<((reals + 1) / 2) {
                let v = s.elements[grid.position(ofSymbol: k, ofdmSymbols: s.columns)]
                let (n, t, l) = grid.coordinates(ofSymbol: k)
                body(n, t, l, (v.real, 0))
                if 2 * k + 1 < reals { body(n, t, l, (0, v.imaginary)) }
            }
        }
    }

    /// The part of a reference both forms share: its largest symbol checked against what the
    /// sums can hold, its reals recorded, and its entries (n, t, l, one real part of s) queued
    /// into Σ w_j s_j and, on the air, Σ H_j B_j s_j.
    private func queueReference(
        device j: Int, reals range: Range<Int>, largestSymbol largest: Float,
        entries: @escaping ((Int, Int, Int, (Float, Float)) -> Void) -> Void
    ) throws {
        guard let target else {
            throw ReceptionRefusal(device: j, problem: "this receiver does not measure the error (no references)")
        }
        let bound = max(targetTransforms[j].bound, noiselessTransforms.isEmpty ? 0 : noiselessTransforms[j].bound)
        guard largest * bound < ExactAccumulator.contributionLimit else {
            throw ReceptionRefusal(
                device: j,
                problem:
                    "a reference symbol of \(largest) (in units of the common scale) is beyond what the receiver can "
                    + "sum"
            )
        }
        referenceRanges[j].append(range)
        let gt = targetTransforms[j]
        let gn = noiselessTransforms.isEmpty ? nil : noiselessTransforms[j]
        let noiseless = self.noiseless
        enqueue { band in
            target.addEntries(gt, band: band, entries: entries)
            if let gn, let noiseless { noiseless.addEntries(gn, band: band, entries: entries) }
        }
    }

    /// Whether device j's whole transmission arrived (every OFDM symbol).
    public func isComplete(device j: Int) -> Bool { !arrived[j].contains(false) }

    /// OFDM symbols of device j that arrived.
    public func symbolsArrived(device j: Int) -> Int { arrived[j].reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Whether device j's whole reference arrived.
    public func isReferenceComplete(device j: Int) -> Bool { referenceRanges[j].reduce(0) { $0 + $1.count } == reals }

    /// Runs `work(band)` on every worker (each on its own band), once `frames` slots are free (at
    /// most `queueDepth`: slots count frames, so what waits is bounded in frames whatever K is).
    func enqueue(frames: Int = 1, _ work: @escaping (Range<Int>) -> Void) {
        guard summing == .workers else {
            for band in bands { work(band) }
            return
        }
        let taken = min(frames, depth)
        for _ in 0..<taken { slots.wait() }
        let group = DispatchGroup()
        for (queue, band) in zip(workers, bands) {
            group.enter()
            queue.async {
                work(band)
                group.leave()
            }
        }
        group.notify(queue: done) { for _ in 0..<taken { self.slots.signal() } }
    }

    /// Waits until every queued frame is summed (`finish` does; a caller that abandons the round
    /// calls it so no work outlives the round).
    public func drain() {
        flush()
        for queue in workers { queue.sync {} }
    }

    /// max |v| over `values`, or a refusal naming the first NaN/Inf (one SIMD pass: this runs on
    /// the receiving thread for every frame).
    static func largestMagnitude(_ values: [Float], device j: Int) throws -> Float {
        try values.withUnsafeBufferPointer { try largestMagnitude($0, device: j) }
    }

    static func largestMagnitude(_ values: UnsafeBufferPointer<Float>, device j: Int) throws -> Float {
        var largest = SIMD16<Float>()
        var poison = SIMD16<Float>()
        let whole = values.count / 16 * 16
        do {
            let raw = UnsafeRawBufferPointer(values)
            for i in stride(from: 0, to: whole, by: 16) {
                let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
                let a = v.replacing(with: -v, where: v .< 0) // (Swift's pointwiseMax does not vectorise)
                largest.replace(with: a, where: a .> largest)
                poison += v * 0 // NaN in a lane once any NaN or ±∞ passed through it
            }
        }
        var result = largest.max()
        for v in values[whole...] {
            result = max(result, abs(v))
            poison[0] += v * 0
        }
        guard poison.sum().isNaN else { return result }
        let i = values.firstIndex { !$0.isFinite } ?? 0
        throw ReceptionRefusal(device: j, problem: "value \(i) of the run is NaN or infinite", kind: .nonFinite)
    }
}
