import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces a file so that a crash or power loss at any moment leaves either the complete old
/// file or the complete new one, never a torn mix: the bytes go to a temporary file in the same
/// directory, which is fsync'd, renamed over the target (atomic within one file system), and then
/// the directory is fsync'd so the rename itself is on disk. (Foundation's `.atomic` write renames
/// but never fsyncs, so after a power loss the new name may point at unwritten blocks.)
public enum DurableFile {
    /// `text` as UTF-8, replaced the same way.
    public static func write(text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/" + temporaryPrefix + url.lastPathComponent + ".\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableFileError(path: path, step: "create \(temporary)", code: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < bytes.count {
                    let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw DurableFileError(path: path, step: "write", code: errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw DurableFileError(path: path, step: "fsync", code: errno) }
        }
        guard rename(temporary, path) == 0 else { throw DurableFileError(path: path, step: "rename", code: errno) }
        renamed = true
        try syncDirectory(directory)
    }

    /// fsync of a directory: its entries (a rename, a new file) reach the disk.
    public static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableFileError(path: directory, step: "open the directory", code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DurableFileError(path: directory, step: "fsync the directory", code: errno) }
    }

    /// Temporary files begin with this; one left by a crash mid-write is never read, and
    /// `removeLeftovers` clears them.
    public static let temporaryPrefix = ".partial-"

    /// Removes the temporary files crashed writes left in `directory`.
    public static func removeLeftovers(in directory: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(temporaryPrefix) {
            try? fm.removeItem(atPath: directory + "/" + name)
        }
    }
}

/// A durable write that failed, with the step and the system's reason.
public struct DurableFileError: Error, CustomStringConvertible {
    public let path: String, step: String, code: Int32
    public var description: String { "cannot write \(path): \(step) failed: \(String(cString: strerror(code)))" }
}
