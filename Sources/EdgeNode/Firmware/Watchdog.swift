import Dispatch
import Foundation

/// A firmware watchdog: the main loop kicks it at every state change and training step; if it
/// is not kicked within `timeout` seconds the device resets (the process exits with status 3 and
/// says in which state it hung), as a hardware watchdog would.
final class Watchdog: @unchecked Sendable {
    let timeout: Double
    private let lock = NSLock()
    private var lastKick = DispatchTime.now().uptimeNanoseconds
    private var state = "boot"
    private var timer: DispatchSourceTimer?

    init(timeout: Double) {
        self.timeout = timeout
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "watchdog"))
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in self?.check() }
        t.resume()
        timer = t
    }

    deinit { timer?.cancel() }

    func kick(_ state: String) {
        lock.lock()
        lastKick = DispatchTime.now().uptimeNanoseconds
        self.state = state
        lock.unlock()
    }

    private func check() {
        lock.lock()
        let idle = Double(DispatchTime.now().uptimeNanoseconds - lastKick) / 1e9, s = state
        lock.unlock()
        if idle > timeout {
            FileHandle.standardError.write(Data("watchdog: no progress for \(Int(idle)) s in state \(s); resetting\n".utf8))
            exit(3)
        }
    }
}
