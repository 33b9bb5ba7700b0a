import CZeroMQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A CURVE key (Curve25519, 32 bytes) in Z85 text, 40 characters, as libzmq takes it.
public struct CurveKey: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let z85: String
    /// The 32 bytes (what a ZAP request carries).
    public let bytes: [UInt8]

    /// Checks length and alphabet by decoding; nil when `z85` is no key.
    public init?(z85 text: String) {
        let z = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard z.utf8.count == 40 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&out, z) != nil else { return nil }
        z85 = z
        bytes = out
    }

    public init(bytes b: [UInt8]) {
        precondition(b.count == 32, "a CURVE key is 32 bytes")
        var text = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&text, b, 32)
        z85 = String(cString: text)
        bytes = b
    }

    public var description: String { z85 }
}

/// A CURVE key pair.
public struct CurveKeyPair: Sendable {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    /// A fresh pair from libzmq (libsodium's randomness: keys are secrets, not seeded draws).
    public static func generate() throws -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZeroMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(
            publicKey: CurveKey(z85: String(cString: pub))!, secretKey: CurveKey(z85: String(cString: sec))!)
    }

    /// The pair of a secret key (its public half derived).
    public init(secret: CurveKey) throws {
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secret.z85) == 0 else { throw ZeroMQError.last("zmq_curve_public") }
        self.init(publicKey: CurveKey(z85: String(cString: pub))!, secretKey: secret)
    }

    init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// Key files: `NAME.key` holds the secret key (Z85, one line, mode 0600), `NAME.pub` the public
/// key (Z85, one line).
public enum CurveKeyFile {
    /// Writes `base.key` (0600) and `base.pub`; refuses to replace an existing key unless `replace`.
    public static func write(_ pair: CurveKeyPair, base: String, replace: Bool = false) throws {
        try write(pair.secretKey.z85 + "\n", to: base + ".key", mode: 0o600, replace: replace)
        try write(pair.publicKey.z85 + "\n", to: base + ".pub", mode: 0o644, replace: replace)
    }

    private static func write(_ text: String, to path: String, mode: mode_t, replace: Bool) throws {
        if replace { unlink(path) }
        // O_EXCL: never through an existing file or link; the mode is set at creation, before any byte.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw KeyFileError(
                path: path,
                problem: errno == EEXIST
                    ? "exists (a key is never replaced silently; --force replaces it)"
                    : String(cString: strerror(errno)))
        }
        defer { close(fd) }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw KeyFileError(path: path, problem: String(cString: strerror(errno)))
        }
    }

    /// A public key file (`.pub`).
    public static func readPublic(_ path: String) throws -> CurveKey {
        try read(path)
    }

    /// A secret key file (`.key`): refused when others may read it, as ssh refuses.
    public static func readSecret(_ path: String) throws -> CurveKeyPair {
        var st = stat()
        guard stat(path, &st) == 0 else { throw KeyFileError(path: path, problem: String(cString: strerror(errno))) }
        guard st.st_mode & 0o077 == 0 else {
            throw KeyFileError(
                path: path,
                problem: String(format: "a secret key readable by others (mode %o); chmod 600 it", st.st_mode & 0o777))
        }
        return try CurveKeyPair(secret: try read(path))
    }

    private static func read(_ path: String) throws -> CurveKey {
        let fm = FileManager.default
        guard let size = (try? fm.attributesOfItem(atPath: path)[.size] as? Int), size <= 4096,
            let data = fm.contents(atPath: path)
        else {
            throw KeyFileError(
                path: path,
                problem: fm.fileExists(atPath: path) ? "not a key file (unreadable, or over 4 KiB)" : "no such file")
        }
        guard let key = CurveKey(z85: String(decoding: data, as: UTF8.self)) else {
            throw KeyFileError(path: path, problem: "not a Z85 CURVE key (40 characters of the Z85 alphabet)")
        }
        return key
    }
}

/// The nodes a base station admits: each line of the file is `NAME Z85-PUBLIC-KEY` (a line that
/// starts with `#` is a comment). A key maps to one node name; a name has one key.
public struct NodeAllowList: Sendable, Equatable {
    public private(set) var names: [CurveKey: String] = [:]
    /// Stress mode only (synthetic nodes with throwaway keys): every key is admitted, named
    /// `key-` and the first 16 characters of its Z85.
    public private(set) var admitsEveryKey = false

    public static func everyKey() -> NodeAllowList {
        var list = try! NodeAllowList([])
        list.admitsEveryKey = true
        return list
    }

    public init(_ entries: [(name: String, key: CurveKey)]) throws {
        for (name, key) in entries { try add(name, key, where: "entry") }
    }

    public init(contentsOf path: String) throws {
        let fm = FileManager.default
        guard let size = (try? fm.attributesOfItem(atPath: path)[.size] as? Int), size <= 16 << 20,
            let data = fm.contents(atPath: path)
        else {
            throw KeyFileError(
                path: path, problem: fm.fileExists(atPath: path) ? "unreadable, or over 16 MiB" : "no such file")
        }
        for (i, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            // Z85 has `#` in its alphabet: only a line that starts with it is a comment.
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 2, let key = CurveKey(z85: String(fields[1])) else {
                throw KeyFileError(path: path, problem: "line \(i + 1): expected `NAME Z85-PUBLIC-KEY`")
            }
            try add(String(fields[0]), key, where: "\(path) line \(i + 1)")
        }
    }

    private mutating func add(_ name: String, _ key: CurveKey, where place: String) throws {
        guard NodeName.isValid(name), name.utf8.count <= 255 else {
            throw KeyFileError(path: place, problem: "node name '\(name)' must be letters, digits, - or _")
        }
        guard names[key] == nil else {
            throw KeyFileError(path: place, problem: "the key of \(name) is already \(names[key]!)'s")
        }
        guard !names.values.contains(name) else { throw KeyFileError(path: place, problem: "\(name) is listed twice") }
        names[key] = name
    }

    /// The node a ZAP request's 32 key bytes belong to.
    public func name(of bytes: [UInt8]) -> String? {
        guard bytes.count == 32 else { return nil }
        let key = CurveKey(bytes: bytes)
        return admitsEveryKey ? "key-" + String(key.z85.prefix(16)) : names[key]
    }
}

/// What a node name may be (a scenario's `[[nodes]]`, a key file, an allow-list line): letters,
/// digits, `-` and `_`, at least one.
public enum NodeName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }
}

/// A key or allow-list file that cannot be used.
public struct KeyFileError: Error, CustomStringConvertible {
    public var path: String, problem: String
    public var description: String { "\(path): \(problem)" }
}
