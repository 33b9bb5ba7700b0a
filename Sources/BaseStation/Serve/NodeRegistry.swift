import CommandLineSupport
import HardwareProfiles
import Wire

/// The scenario's nodes as this base station knows them: each one's hello (what its device can
/// do), whether it takes part in the rounds, and how often it registered; and the unknown peers
/// already told they are no nodes of this scenario. A value: the server decides and does the I/O,
/// the registry only records (every change goes through its methods).
struct NodeRegistry {
    struct Node {
        let name: String
        let profile: HardwareProfile
        fileprivate(set) var hello: Hello?
        fileprivate(set) var active = false
        /// Welcomes sent so far: a node that registered again after a round began is not blamed
        /// for that round's silence.
        fileprivate(set) var registrations = 0
    }

    private(set) var nodes: [Node]
    /// Unknown peers told once that they are not nodes of this scenario.
    private var answeredStrangers = Set<String>()
    /// At most this many unknown names are ever answered (a flood of names gets no more).
    static let strangersAnswered = 1024

    /// The scenario's `[[nodes]]` with their profiles, none registered yet.
    init(_ nodes: [(name: String, profile: HardwareProfile)]) {
        self.nodes = nodes.map { Node(name: $0.name, profile: $0.profile) }
    }

    /// The device index of the node `peer` is (the transport's name for it: its key's name under
    /// CURVE, its connection's in plaintext); nil for a peer of no scenario node.
    func index(of peer: String) -> Int? { nodes.firstIndex { $0.name == peer } }

    var activeCount: Int { nodes.filter(\.active).count }

    /// Throws unless the name `hello` claims is node `index`'s own (the peer's it came from), saying
    /// who it claimed to be and who it is (`secure`: by its key; else by its connection).
    func check(_ hello: Hello, from index: Int, secure: Bool) throws {
        guard hello.name != nodes[index].name else { return }
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

    /// Whether unknown peer `name` is to be told, this once, that it is no node of this scenario.
    mutating func firstWord(toStranger name: String) -> Bool {
        answeredStrangers.count < Self.strangersAnswered && answeredStrangers.insert(name).inserted
    }
}
