import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE). Every TCP connection a base station accepts is a
/// descriptor, the unauthenticated ones included; at the usual soft limit of 1,024 a thousand idle
/// connections from anyone keep every node out. The hard limit is what the administrator allows.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit. Returns the soft limit before and after (equal
    /// when it already was the hard limit, or could not be raised), nil where the limit cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> (before: UInt64, after: UInt64)? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &raised) == 0 else { return (before, before) }
        return (before, UInt64(raised.rlim_cur))
    }

    /// The soft limit now.
    public static var current: UInt64? {
        var limit = rlimit()
        return getrlimit(resource, &limit) == 0 ? UInt64(limit.rlim_cur) : nil
    }

    private static var resource: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }

    /// A line for the log: what the limit was and is.
    public static func describeRaise(_ r: (before: UInt64, after: UInt64)?) -> String {
        guard let r else { return "open files: the limit could not be read" }
        return r.before == r.after
            ? "open files: soft limit \(r.after) (the hard limit, or as high as allowed)"
            : "open files: soft limit raised from \(r.before) to \(r.after) (the hard limit)"
    }
}
