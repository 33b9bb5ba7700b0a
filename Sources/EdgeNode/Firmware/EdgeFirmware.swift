import CommandLineSupport
import Dispatch
import Foundation
import HardwareProfiles
import LanguageModel
import Logging
import Wire

/// The edge device's firmware: a state machine whose `State` carries what each state works on,
///
///     boot → register → wait ⇄ train → wait ⇄ modulate → transmit → wait … → halted
///
/// held to its hardware profile: the training state is planned before anything is allocated and
/// must fit the RAM budget (cached weights when they fit, else streamed); a FLOP meter counts every
/// matrix product, elementwise kernel and optimiser update, and local training stops before a step would pass the
/// round's FLOP budget
/// (`LocalTrainer`); compute time and energy are emulated from the profile (and slept at the
/// real-time scale); the transmission is quantised by the profile's DAC (`Modulator`). A watchdog
/// resets a hung loop. It talks through a `NodeTransport`: ZeroMQ in `run`, in memory in tests.
final class EdgeFirmware {
    enum State {
        case boot
        case register
        case wait
        case train(round: UInt32, RoundStart)
        case modulate(round: UInt32, Transmit)
        case transmit(round: UInt32, frames: [Frame], window: TransmitWindow)
        case halted(Exit)

        /// The watchdog's and the log's label.
        var name: String {
            switch self {
            case .boot: return "boot"
            case .register: return "register"
            case .wait: return "wait"
            case .train: return "train"
            case .modulate: return "modulate"
            case .transmit: return "transmit"
            case .halted: return "halted"
            }
        }
    }

    /// How the firmware stopped.
    enum Exit: Equatable {
        /// The base station ended the run, with its reason.
        case shutdown(String)
        /// Fault injection: gone without a word at the start of a round.
        case vanished
    }

    let name: String
    let profile: HardwareProfile
    let file: GGUFFile
    let tokenizer: BPETokenizer
    let config: LlamaConfig
    let watchdog: Watchdog
    let bsTimeoutS: Double
    /// `--realtime-scale`: when given, it overrides the base station's `realtime_scale`.
    let realtimeScaleOverride: Double?
    let modulator: Modulator
    let vanishAtRound: Int?
    let transport: NodeTransport
    let log: Logger
    let modelPath: String
    /// Training from a fresh adapter shared with other runs (`--memo DIR`); nil: always trained.
    let memo: Memo?
    /// The model file's hash and size, for memo keys (read on first use).
    var modelFileIdentity: (hash: UInt64, bytes: Int)?

    private(set) var state = State.boot
    var welcome: Welcome?
    /// The welcome's learning settings, decoded.
    var optimizer = OptimizerKind.adamw
    /// The frozen products' kernel the welcome asked for (what runs: the memory plan's `kernel`).
    var kernel = FrozenKernel.quantized
    var sampler: WindowSampler?
    var model: LlamaModel?
    /// The training's activation buffers, kept from round to round (allocated and faulted in once).
    let workspace = GradientWorkspace<Float>()
    var modelMode: TrainingMemoryPlan.Mode?
    /// This round's update Δ = trained − global, and its round.
    var update: [Float] = []
    var updateRound: UInt32?
    /// The last training step's FLOPs, the estimate of the next one's, and the adapter shape it was
    /// measured at (another rank or target list measures again).
    var lastStepFlops = 0.0
    var lastStepShape = ""
    /// The transport's sessions when this node was last welcomed: a new one since means the link
    /// to the base station was re-established (it may have restarted), so the node says hello again.
    var sessionAtWelcome = 0
    /// A message from the base station that cut a windowed transmission short: the next order.
    var interrupting: Inbound?

    init(
        transport: NodeTransport, name: String, profile: HardwareProfile, modelPath: String, watchdog: Watchdog,
        bsTimeoutS: Double,
        realtimeScale: Double?, frameSymbols: Int, vanishAtRound: Int? = nil, memo: Memo? = nil, log: Logger
    ) throws {
        self.name = name
        self.profile = profile
        self.watchdog = watchdog
        self.bsTimeoutS = bsTimeoutS
        realtimeScaleOverride = realtimeScale
        modulator = Modulator(dacBits: profile.dacBits, frameSymbols: frameSymbols)
        self.vanishAtRound = vanishAtRound
        self.transport = transport
        self.log = log
        self.modelPath = modelPath
        self.memo = memo
        file = try GGUFFile(path: modelPath)
        tokenizer = try BPETokenizer(gguf: file)
        config = try LlamaConfig(gguf: file)
        guard Double(file.byteCount) <= profile.flashBytes else {
            throw CommandError(
                "\(profile.name) cannot hold \(modelPath): \(file.byteCount) bytes of model, "
                    + "\(Int(profile.flashBytes)) bytes of flash"
            )
        }
    }

    func note(_ line: String) { log.info("\(line)", metadata: ["state": "\(state.name)"]) }

    func send(_ frame: Frame) throws { try transport.send(frame.encoded()) }

    /// Runs the state machine until the base station ends the run (or a fault injection does).
    func run() throws -> Exit {
        while true {
            watchdog.kick(state.name)
            switch state {
            case .boot:
                note(
                    "profile \(profile.name): \(Int(profile.ramBytes)) B RAM, \(profile.sustainedGFLOPS) GFLOP/s, "
                        + "budget \(profile.flopBudgetPerRound) FLOP/round, DAC \(profile.dacBits) bits"
                )
                state = .register
            case .register:
                state = try register()
            case .wait:
                state = try awaitOrder()
            case .train(let round, let start):
                // One bad round costs at most that round, never the firmware.
                do { try train(round, start) } catch { try sitOut(round, "round \(round): \(error)") }
                state = .wait
            case .modulate(let round, let order):
                state = modulate(round, order)
            case .transmit(let round, let frames, var window):
                transmit(round, frames, &window)
                update = []
                state = .wait
            case .halted(let exit):
                return exit
            }
        }
    }

    /// The next message within `seconds`, decoded (`Inbound.decode`, as the base station decodes
    /// what nodes send), kicking the watchdog while waiting; one that does not decode is returned
    /// as its refusal for the caller to act on (`heard`).
    func receive(within seconds: Double) throws -> Result<Inbound, Inbound.Refusal>? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            watchdog.kick(state.name)
            guard let data = try transport.receive() else { continue }
            return Inbound.decode(data)
        }
        return nil
    }

    /// The message received, or nil (nothing came, or what came is reported and dropped).
    func heard(_ received: Result<Inbound, Inbound.Refusal>?) -> Inbound? {
        switch received {
        case .success(let inbound): return inbound
        case .failure(let refusal):
            note("dropped a frame from the base station: \(refusal)")
            return nil
        case nil: return nil
        }
    }

    /// Waits for the base station's next order and names the state it leads to; a base station
    /// silent for `bsTimeoutS` sends the node back to registration.
    private func awaitOrder() throws -> State {
        var silentSince = DispatchTime.now().uptimeNanoseconds
        while true {
            if transport.sessions > sessionAtWelcome {
                note("the connection to the base station was re-established; registering again")
                return .register
            }
            let received = try interrupting.take().map { .success($0) } ?? receive(within: 1)
            // A round start that does not decode costs its round only: the base station hears it sat out.
            if case .failure(let refusal) = received, let header = refusal.header, header.type == .roundStart {
                try sitOut(header.round, "round \(header.round): malformed round start (\(refusal.problem))")
                silentSince = DispatchTime.now().uptimeNanoseconds
                continue
            }
            guard let inbound = heard(received) else {
                if Double(DispatchTime.now().uptimeNanoseconds - silentSince) / 1e9 > bsTimeoutS {
                    note("base station silent for \(Int(bsTimeoutS)) s; registering again")
                    return .register
                }
                continue
            }
            silentSince = DispatchTime.now().uptimeNanoseconds
            do {
                switch inbound.message {
                case .roundStart(let start):
                    if let v = vanishAtRound, inbound.round == UInt32(v) {
                        note("fault injection: vanishing at the start of round \(v)")
                        return .halted(.vanished)
                    }
                    return .train(round: inbound.round, start)
                case .transmit(let order): return .modulate(round: inbound.round, order)
                case .shutdown(let shutdown): return try leave(shutdown, inbound.frame)
                case .welcome: continue // a repeated welcome after re-registration
                case .registerAgain(let again):
                    note("the base station asks for registration again: \(again.reason)")
                    return .register
                default: note("ignored an unexpected \(inbound.type) frame")
                }
            } catch {
                note("dropped a \(inbound.type) message: \(error)")
                return .wait
            }
        }
    }

    /// The transmit order turned into frames. One that cannot be carried out is answered with an
    /// empty round end, so the base station need not wait out its deadline for symbols that will not come.
    private func modulate(_ round: UInt32, _ order: Transmit) -> State {
        guard let w = welcome else { return .wait }
        let nothing = [RoundEnd(frames: 0, ofdmSymbols: 0).frame(round: round, node: UInt32(w.index))]
        let window = TransmitWindow(round: round, order: order)
        guard updateRound == round, !update.isEmpty else {
            note("round \(round): asked to transmit without an update of that round; sending an empty round end")
            return .transmit(round: round, frames: nothing, window: window)
        }
        do {
            return .transmit(
                round: round,
                frames: try modulator.frames(for: update, order: order, round: round, node: UInt32(w.index)),
                window: window)
        } catch {
            note("round \(round): cannot carry out the transmit order (\(error)); sending an empty round end")
            return .transmit(round: round, frames: nothing, window: window)
        }
    }

    /// A shutdown heard: a finished run is left with a farewell (the base station waits for it
    /// before it exits). A refusal throws: during registration it is this node's failure; while
    /// waiting for orders it is dropped like any frame the node cannot act on, and the next
    /// registration hears it again if it stands.
    private func leave(_ shutdown: Shutdown, _ frame: Frame) throws -> State {
        guard shutdown.kind == .runOver else {
            throw CommandError("the base station refused \(name): \(shutdown.reason)")
        }
        note("shutdown: \(shutdown.reason)")
        do { try send(Farewell().frame(round: frame.round, node: frame.node)) } catch {
            note("could not say farewell: \(error)")
        }
        return .halted(.shutdown(shutdown.reason))
    }

    /// Sends hello until the base station welcomes (or refuses) this node; a base station whose
    /// run is over answers with its shutdown instead, and the node leaves.
    private func register() throws -> State {
        let hello = Hello(
            name: name, profile: profile.name, txPowerW: profile.txPowerW, antennas: profile.antennas,
            dacBits: profile.dacBits,
            sustainedGFLOPS: profile.sustainedGFLOPS, flopBudgetPerRound: profile.flopBudgetPerRound,
            joulesPerGFLOP: profile.joulesPerGFLOP, ramBytes: profile.ramBytes)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        while elapsed() < bsTimeoutS {
            try send(hello.frame(round: 0, node: 0))
            // One hello per 10 s: anything but the answer (a stale order, a request to register) is
            // skipped without saying hello again, which would register this node twice.
            let answerBy = elapsed() + min(10, bsTimeoutS)
            var answer: Inbound?
            while answer == nil, elapsed() < answerBy {
                guard let received = try receive(within: answerBy - elapsed()) else { break }
                guard let inbound = heard(received) else { continue }
                if case .shutdown(let shutdown) = inbound.message { return try leave(shutdown, inbound.frame) }
                if case .welcome = inbound.message { answer = inbound }
            }
            guard let answer, case .welcome(let w) = answer.message else { continue }
            sessionAtWelcome = transport.sessions
            let decoded = try Self.validate(w)
            try checkSmallestPlanFits(w, optimizer: decoded.optimizer, kernel: decoded.kernel)
            if welcome == nil || welcome! != w { try prepareData(w, partition: decoded.partition) }
            welcome = w
            optimizer = decoded.optimizer
            kernel = decoded.kernel
            note("registered as device \(w.index) of \(w.devices)")
            return .wait
        }
        throw CommandError("no base station answered within \(Int(bsTimeoutS)) s")
    }

    /// Reports a round without an update (the base station leaves this node out of it).
    func sitOut(_ round: UInt32, _ why: String) throws {
        note(why)
        update = []
        updateRound = round
        guard let w = welcome else { return }
        try send(
            UpdateReady(
                loss: .nan, steps: 0, tokens: 0, flops: 0, computeSeconds: 0, energyJ: 0, updateEnergy: 0, reals: 0
            )
            .frame(round: round, node: UInt32(w.index)))
    }
}
