import Foundation
import XCTest

/// docs/architecture.md's module table says what each module imports. It is held to Package.swift
/// (`swift package dump-package`) and to the `import` lines of the module's own files, so the
/// document a new maintainer reads first cannot drift from the code.
final class ModuleMapTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The toolchain's and the system's modules, which the table does not list.
    static let platform: Set<String> = ["Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin", "XCTest"]

    func testTheModuleTableIsWhatPackageSwiftDeclaresAndTheFilesImport() throws {
        let documented = try Self.documentedImports()
        let declared = try Self.declaredDependencies()
        XCTAssertFalse(documented.isEmpty, "no module table found in docs/architecture.md")
        for (module, dependencies) in declared.sorted(by: { $0.key < $1.key }) {
            let imported = try Self.imports(of: module)
            XCTAssertEqual(
                imported, dependencies,
                "\(module): its files import \(imported.sorted()), Package.swift declares \(dependencies.sorted())")
            XCTAssertEqual(
                documented[module], dependencies,
                "\(module): docs/architecture.md's table says \(documented[module].map { $0.sorted() } ?? []), "
                    + "Package.swift \(dependencies.sorted())"
            )
        }
        XCTAssertEqual(
            Set(documented.keys), Set(declared.keys), "the table's modules against Package.swift's Swift targets")
    }

    /// Module → the project modules and package products the table's second column names (notes in
    /// parentheses dropped).
    static func documentedImports() throws -> [String: Set<String>] {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        guard let header = text.range(of: "| module | imports (project modules, then packages) |") else { return [:] }
        var table = [String: Set<String>]()
        for line in text[header.upperBound...].split(separator: "\n").dropFirst() {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2 else { continue }
            let names = cells[1].replacingOccurrences(of: #"\([^)]*\)"#, with: "", options: .regularExpression)
                .split(whereSeparator: { ",;".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0 != "—" }
            table[cells[0]] = Set(names)
        }
        return table
    }

    /// Each Swift library or executable target's dependencies (targets and products) from the manifest.
    static func declaredDependencies() throws -> [String: Set<String>] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dump-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Its own scratch path: the test runner's build holds .build's lock.
        process.arguments = [
            "swift", "package", "--package-path", repository.path, "--scratch-path", scratch.path, "dump-package",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "swift package dump-package")
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var result = [String: Set<String>]()
        for target in manifest["targets"] as? [[String: Any]] ?? [] {
            guard let name = target["name"] as? String, ["regular", "executable"].contains(target["type"] as? String),
                isSwiftModule(name)
            else { continue }
            let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { d -> String? in
                for kind in ["byName", "target", "product"] {
                    if let v = d[kind] as? [Any], let n = v.first as? String { return n }
                }
                return nil
            }
            result[name] = Set(dependencies)
        }
        return result
    }

    /// Whether Sources/`name` holds Swift files (C targets such as CQuantizedKernels are not in the table).
    static func isSwiftModule(_ name: String) -> Bool {
        let files = FileManager.default.enumerator(
            at: repository.appendingPathComponent("Sources/\(name)"), includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            if file.pathExtension == "swift" { return true }
        }
        return false
    }

    /// The modules a target's Swift files import, the platform's aside.
    static func imports(of module: String) throws -> Set<String> {
        let root = repository.appendingPathComponent("Sources/\(module)")
        var found = Set<String>()
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") }),
                    i + 1 < words.count
                else { continue }
                found.insert(String(words[i + 1]))
            }
        }
        return found.subtracting(platform)
    }
}
