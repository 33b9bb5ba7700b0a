import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `executable` in the repository with its output in files and a deadline, and kills its
/// whole process group if it outlives `timeoutSeconds`; a killed run has status 124 and says so
/// at the end of its stderr.
///
/// Why not Foundation's `Process`: on Linux its `waitUntilExit` returns only when every holder
/// of a socket it hands the child has closed it, so a daemon a script starts (munged, slurmd)
/// keeps the test waiting for ever, and so would a pipe for the output. Here the child is
/// spawned with `posix_spawn` as the leader of its own process group and reaped with
/// `waitpid`, which returns when the child itself exits. The deadline because CI must end with a
/// failed test, never a timed-out run.
func runBounded(
    _ executable: String, _ arguments: [String], env: [String: String]? = nil, mergeOutput: Bool = false,
    timeoutSeconds: Double
) throws -> (status: Int32, stdout: String, stderr: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("airfl-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let outPath = dir.appendingPathComponent("out").path
    let errPath = dir.appendingPathComponent("err").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if mergeOutput {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)

    let environment = (env ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    // env -C: the repository as the working directory (Glibc's addchdir_np is not visible from Swift).
    let argv = (["/usr/bin/env", "-C", repositoryRoot.path, "--", executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { for p in argv + envp { free(p) } }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, envp)
    guard spawned == 0 else {
        throw NSError(domain: "posix_spawn \(executable): \(String(cString: strerror(spawned)))", code: Int(spawned))
    }

    let deadline = Date().addingTimeInterval(timeoutSeconds)
    var status: Int32 = 0
    var killed = false
    while waitpid(pid, &status, WNOHANG) == 0 {
        if !killed, Date() > deadline {
            // SIGTERM first, so a launch script's trap can stop what it started; SIGKILL 5 s later.
            killed = true
            kill(-pid, SIGTERM)
        } else if killed, Date() > deadline.addingTimeInterval(5) {
            kill(-pid, SIGKILL)
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    // The shell's convention: the exit code, or 128 + the signal that ended the child.
    let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    let stdout = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(), as: UTF8.self)
    var stderr =
        mergeOutput
        ? "" : String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self)
    guard killed else { return (exitStatus, stdout, stderr) }
    stderr += "\n[test] \(executable) \(arguments.joined(separator: " ")) killed after \(Int(timeoutSeconds)) s\n"
    return (124, mergeOutput ? stdout + stderr : stdout, stderr)
}
