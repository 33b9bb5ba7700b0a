import Foundation

/// The machine a measurement ran on, as reports and benchmarks name it.
public enum MachineDescription {
    /// The CPU's model name from /proc/cpuinfo, with the wide SIMD it has (avx2, avx512f):
    /// machines here differ, and a figure is read against the one that produced it.
    public static func cpuModel() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let name =
            info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let flags =
            info.split(separator: "\n").first { $0.hasPrefix("flags") }.map {
                Set($0.split(separator: " ").map(String.init))
            } ?? []
        let simd = ["avx2", "avx512f"].filter { flags.contains($0) }
        return simd.isEmpty ? name : "\(name) (\(simd.joined(separator: ", ")))"
    }
}
