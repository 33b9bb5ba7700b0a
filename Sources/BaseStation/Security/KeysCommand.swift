import ArgumentParser
import CommandLineSupport
import Foundation
import Logging
import Wire

/// `basestation keys`: the base station's CURVE key pair.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract:
            "Make the base station's CURVE key pair: DIR/basestation.key (secret, mode 0600) and DIR/basestation.pub "
            + "(give it to the nodes).",
        discussion:
            "The nodes it admits are listed in DIR/allowed-nodes, one `NAME Z85-PUBLIC-KEY` line each (`edgenode "
            + "keys` prints a node's line). launch/fleet.sh makes all of this for a scenario when it is missing."
    )
    @Option(help: "Key directory (created if missing).") var dir: String
    @Flag(help: "Replace an existing key pair.") var force = false

    func run() throws {
        try failing {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let pair = try CurveKeyPair.generate()
            try CurveKeyFile.write(pair, base: (dir as NSString).appendingPathComponent("basestation"), replace: force)
            print(
                "base station public key \(pair.publicKey.z85) "
                    + "(\((dir as NSString).appendingPathComponent("basestation.pub")))"
            )
        }
    }
}

/// Where `serve --keys DIR` finds its CURVE material, and how it is loaded.
enum ServerKeys {
    static func load(directory dir: String) throws -> CurveServerSecurity {
        let secret = (dir as NSString).appendingPathComponent("basestation.key")
        let allowed = (dir as NSString).appendingPathComponent("allowed-nodes")
        guard FileManager.default.fileExists(atPath: secret) else {
            throw CommandError(
                """
                no base station key \(secret): make it with `basestation keys --dir \(dir)`, \
                each node's with `edgenode keys --name NAME --dir \(dir)/nodes` listed in \(allowed) \
                (launch/fleet.sh does all of this), or serve in plaintext with --insecure
                """)
        }
        return CurveServerSecurity(
            keys: try CurveKeyFile.readSecret(secret), allowList: try NodeAllowList(contentsOf: allowed))
    }

    /// The plaintext warning, logged by both sides.
    static let insecureWarning =
        "--insecure: plaintext, no authentication; any process that connects with a node's name is that node"
}
