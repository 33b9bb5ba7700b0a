import Dispatch
import Foundation

/// A thread that runs one step of a service (a poll with a short timeout, then its work) over and
/// over until stopped: the ZAP handler's and the connection watch's. `stop()` returns once the
/// step in progress has finished, and drops the thread, so a step that captures its owner holds it
/// only while it runs.
final class LoopingThread: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    /// Starts `step` on a thread named `name`.
    init(name: String, step: @escaping () -> Void) {
        let t = Thread { [lock, done] in
            while true {
                lock.lock()
                let stop = self.stopped
                lock.unlock()
                if stop { break }
                step()
            }
            done.signal()
        }
        t.name = name
        thread = t
        t.start()
    }

    func stop() {
        lock.lock()
        let running = thread != nil && !stopped
        stopped = true
        lock.unlock()
        if running { done.wait() }
        // The thread's closure holds the step (and whatever it captured): dropping the finished thread ends that cycle.
        lock.lock()
        thread = nil
        lock.unlock()
    }
}
