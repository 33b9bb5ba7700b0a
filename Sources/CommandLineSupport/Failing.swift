import ArgumentParser
import Foundation

/// Runs a command's body: a thrown error becomes a one-line `error: …` message on stderr and exit
/// status 1, never a trap. Usage errors (`ValidationError`) and explicit exits keep
/// swift-argument-parser's own handling (its report, status 64 for usage).
public func failing<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ValidationError { throw e } catch let e as ExitCode { throw e } catch let e
        as CleanExit
    {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// A runtime failure with its message (exit status 1 through `failing`, no usage text).
public struct CommandError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
