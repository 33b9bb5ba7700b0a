import CommandLineSupport
import Wire

/// The nodes as this base station knows them: each one's name (the transport's name for its
/// peer), its hello, whether it takes part in the rounds, and how often it registered; and the
/// unknown peers already told they are no nodes of this run. A value: the ingress and the rounds
/// decide and do the I/O, the registry only records (every change goes through its methods).
struct NodeRegistry {
    struct Node {
        /// Empty for a stress seat no peer has taken yet.
        fileprivate(set) var name: String
        fileprivate(set) var hello: Hello?
        fileprivate(set) var active = false
        /// Welcomes sent so far: a node that registered again after a round began is not blamed
        /// for that round's silence.
        fileprivate(set) var registrations = 0
        /// Rounds missed in a row (no report in time, or a transmission that stopped short).
        fileprivate(set) var missesInARow = 0
        /// The first round this node may take part in again (`missed`).
        fileprivate(set) var backedOffUntil = 0
    }

    /// Who may register.
    enum Admission: Equatable {
        /// The scenario's `[[nodes]]`, by name; a hello must claim its peer's own name (`serve`).
        case named
        /// The first K distinct peers, whatever their hellos claim (`stress`: synthetic nodes
        /// whose names, or throwaway keys, the base station does not know ahead).
        case firstComers
    }

    let admission: Admission
    private(set) var nodes: [Node]
    private var indexByName: [String: Int] = [:]
    /// Unknown peers told once that they are not nodes of this run.
    private var answeredStrangers = Set<String>()
    /// At most this many unknown names are ever answered (a flood of names gets no more).
    static let strangersAnswered = 1024

    /// The scenario's nodes, by name, none registered yet.
    init(names: [String]) {
        admission = .named
        nodes = names.map { Node(name: $0) }
        for (i, name) in names.enumerated() { indexByName[name] = i }
    }

    /// K seats for the first K distinct peers that say hello.
    init(seats: Int) {
        admission = .firstComers
        nodes = Array(repeating: Node(name: ""), count: seats)
    }

    /// The device index of the node `peer` is (the transport's name for it: its key's name under
    /// CURVE, its connection's in plaintext); nil for a peer of no node.
    func index(of peer: String) -> Int? { indexByName[peer] }

    /// The index `peer`'s hello registers: its node's, or for first comers the next free seat
    /// (taken by `peer` from now on); nil when it is no node's and none is free.
    mutating func seat(for peer: String) -> Int? {
        if let i = indexByName[peer] { return i }
        guard admission == .firstComers, let free = nodes.firstIndex(where: \.name.isEmpty) else { return nil }
        nodes[free].name = peer
        indexByName[peer] = free
        return free
    }

    var activeCount: Int { nodes.filter(\.active).count }
    /// Nodes that registered at least once.
    var registeredCount: Int { nodes.filter { $0.registrations > 0 }.count }

    /// Throws unless the name `hello` claims is node `index`'s own (the peer's it came from), saying
    /// who it claimed to be and who it is (`secure`: by its key; else by its connection). First
    /// comers are taken as their peers are: their names are not known ahead.
    func check(_ hello: Hello, from index: Int, secure: Bool) throws {
        guard admission == .named, hello.name != nodes[index].name else { return }
        throw CommandError(
            "it claims to be '\(hello.name)' but \(secure ? "its key is" : "it connected as") "
                + "'\(nodes[index].name)'; refused")
    }

    /// Node `index`'s hello, taken (after `check`): it is active from now on and its registrations
    /// count one more.
    mutating func admit(_ index: Int, hello: Hello) {
        nodes[index].hello = hello
        nodes[index].active = true
        nodes[index].registrations += 1
    }

    /// Node `index` takes no further part in the rounds until it registers again.
    mutating func leaveOut(_ index: Int) { nodes[index].active = false }

    /// The straggler policy: after its m-th missed round in a row a node sits out
    /// min(2^(m−1), `maximumBackoff`) rounds before it is asked back (a hello of its own meanwhile
    /// registers it, but it is not asked to train), so a node that registers and then stays silent
    /// costs one round timeout per backoff period, not one every other round; a delivered update
    /// clears its misses. Flower's counterpart is a strategy's `min_available_clients` and
    /// `fraction_fit`: it samples among the clients available, and a straggler that misses its
    /// round is simply not heard from.
    static let maximumBackoff = 16

    /// Node `index` missed round `round`: left out, and backed off. Returns the rounds it sits out.
    @discardableResult
    mutating func missed(_ index: Int, round: Int) -> Int {
        nodes[index].active = false
        nodes[index].missesInARow += 1
        let sitOut = min(1 << min(nodes[index].missesInARow - 1, 20), Self.maximumBackoff)
        nodes[index].backedOffUntil = round + 1 + sitOut
        return sitOut
    }

    /// Node `index` delivered its update: its misses are cleared.
    mutating func delivered(_ index: Int) { nodes[index].missesInARow = 0 }

    /// A node's straggler state, as a checkpoint keeps it.
    struct Straggler: Equatable {
        var name: String
        var missesInARow: Int
        var backedOffUntil: Int
    }

    /// The nodes that missed a round, with their misses and backoff.
    var stragglers: [Straggler] {
        nodes.filter { $0.missesInARow > 0 || $0.backedOffUntil > 0 }.map {
            Straggler(name: $0.name, missesInARow: $0.missesInARow, backedOffUntil: $0.backedOffUntil)
        }
    }

    /// Takes back a checkpoint's straggler state (names that are no node of this registry are ignored).
    mutating func restore(_ stragglers: [Straggler]) {
        for s in stragglers {
            guard let i = indexByName[s.name] else { continue }
            nodes[i].missesInARow = s.missesInARow
            nodes[i].backedOffUntil = s.backedOffUntil
        }
    }

    /// Whether node `index` sits `round` out under the straggler policy.
    func isBackedOff(_ index: Int, in round: Int) -> Bool { round < nodes[index].backedOffUntil }

    /// Whether unknown peer `name` is to be told, this once, that it is no node of this run.
    mutating func firstWord(toStranger name: String) -> Bool {
        answeredStrangers.count < Self.strangersAnswered && answeredStrangers.insert(name).inserted
    }
}
