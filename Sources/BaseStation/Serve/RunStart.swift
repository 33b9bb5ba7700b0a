import ArgumentParser

/// What `serve` does with a run already in its results directory.
enum RunStart: Sendable, Equatable {
    /// Start a run; a directory that already holds one is refused before anything is loaded.
    case fresh
    /// Continue the run there from its checkpoint (the last finished round), or start from the
    /// beginning when nothing was committed yet.
    case resume
    /// Replace the run there.
    case overwrite

    /// The command line's two flags, which exclude each other.
    init(resume: Bool, overwrite: Bool) throws {
        switch (resume, overwrite) {
        case (false, false): self = .fresh
        case (true, false): self = .resume
        case (false, true): self = .overwrite
        case (true, true):
            throw ValidationError("--resume continues the run in --results, --overwrite replaces it: give one")
        }
    }
}
