import Dispatch
import Foundation

/// A firmware watchdog: the main loop kicks it at every state change and training step; if it
/// is not kicked within `timeout` seconds the device resets, as a hardware watchdog would: by
/// default the process says in which state it hung and exits with status 3.
final class Watchdog: @unchecked Sendable {
    let timeout: Double
    private let lock = NSLock()
    private var lastKick = DispatchTime.now().uptimeNanoseconds
    private var state = "boot"
    private var timer: DispatchSourceTimer?
    private let expire: @Sendable (_ state: String, _ idleSeconds: Double) -> Void

    init(timeout: Double, expire: @escaping @Sendable (_ state: String, _ idleSeconds: Double) -> Void = Watchdog.reset)
    {
        self.timeout = timeout
        self.expire = expire
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "watchdog"))
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in self?.check() }
        t.resume()
        timer = t
    }

    deinit { timer?.cancel() }

    /// The device reset: a line on stderr and exit status 3.
    static let reset: @Sendable (String, Double) -> Void = { state, idle in
        FileHandle.standardError.write(
            Data("watchdog: no progress for \(Int(idle)) s in state \(state); resetting\n".utf8))
        exit(3)
    }

    func kick(_ state: String) {
        lock.lock()
        lastKick = DispatchTime.now().uptimeNanoseconds
        self.state = state
        lock.unlock()
    }

    private func check() {
        lock.lock()
        let idle = Double(DispatchTime.now().uptimeNanoseconds - lastKick) / 1e9
        let s = state
        lock.unlock()
        if idle > timeout { expire(s, idle) }
    }
}
