import ArgumentParser
import CommandLineSupport
import Foundation
import Wire

/// `edgenode keys`: a node's CURVE key pair.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract:
            "Make a node's CURVE key pair: DIR/NAME.key (secret, mode 0600; `run --key`) and DIR/NAME.pub, and print "
            + "the node's line for the base station's allowed-nodes file."
    )
    @Option(help: "Node name (as the scenario's [[nodes]] lists it).") var name: String
    @Option(help: "Key directory (created if missing).") var dir: String
    @Flag(help: "Replace an existing key pair.") var force = false

    func run() throws {
        try failing {
            guard NodeName.isValid(name) else {
                throw ValidationError("--name must be letters, digits, - or _")
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let pair = try CurveKeyPair.generate()
            try CurveKeyFile.write(pair, base: (dir as NSString).appendingPathComponent(name), replace: force)
            print("\(name) \(pair.publicKey.z85)")
        }
    }
}

/// `run`'s CURVE options.
struct NodeSecurityOptions: ParsableArguments {
    @Option(help: "This node's secret key file (`edgenode keys`); with --server-key, CURVE.") var key: String?
    @Option(help: "The base station's public key file (basestation.pub).") var serverKey: String?
    @Flag(help: "Plaintext, no authentication (the base station must be started with --insecure too).") var insecure =
        false

    /// The client security, or nil for an explicit --insecure.
    func load() throws -> CurveClientSecurity? {
        if insecure {
            guard key == nil, serverKey == nil else {
                throw ValidationError("--insecure and --key/--server-key exclude each other")
            }
            return nil
        }
        guard let key, let serverKey else {
            throw ValidationError(
                "give --key and --server-key (CURVE, the default; `edgenode keys` makes a key), or --insecure for "
                    + "plaintext"
            )
        }
        return CurveClientSecurity(
            keys: try CurveKeyFile.readSecret(key), serverKey: try CurveKeyFile.readPublic(serverKey))
    }
}
