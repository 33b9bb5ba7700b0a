import Foundation
import Numerics
import NumpyIO
import XCTest

@testable import Radio

/// `ChannelTensor`'s `.npy` load and save: the (N_sc, K, N_r, N_t) C-order mapping onto the
/// tensor's own layout, and the checks a channel file must pass beyond being a valid `.npy`
/// (the format itself, against NumPy-written files, is NumpyIOTests).
final class ChannelTensorNumpyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ChannelTensorNumpyTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func temp(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A value distinct at every [n, k, r, t], so a transposed index shows up as a wrong value.
    private func value(_ n: Int, _ k: Int, _ r: Int, _ t: Int) -> Complex<Float> {
        Complex(Float(n * 1000 + k * 100 + r * 10 + t), Float(t - r) - 0.5 * Float(n))
    }

    private func assertThrows(
        _ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line,
        _ matches: (NumpyError) -> Bool
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? NumpyError else {
                return XCTFail("not a NumpyError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(matches(e), "unexpected error \(e)", file: file, line: line)
        }
    }

    /// The documented storage order ((n·K + k)·N_t + t)·N_r + r, and C order in the .npy array.
    func testTensorLayoutAndCOrderExport() {
        let (N, K, R, T) = (3, 2, 4, 2)
        var tensor = ChannelTensor(subcarriers: N, devices: K, receiveAntennas: R, transmitAntennas: T)
        for n in 0..<N {
            for k in 0..<K {
                for r in 0..<R {
                    for t in 0..<T {
                        tensor.elements[((n * K + k) * T + t) * R + r] = value(n, k, r, t)
                    }
                }
            }
        }
        XCTAssertEqual(tensor[2, 1, 3, 0], value(2, 1, 3, 0))
        let array = tensor.numpyArray()
        XCTAssertEqual(array.shape, [N, K, R, T])
        XCTAssertEqual(array.dtype, .complex64)
        for n in 0..<N {
            for k in 0..<K {
                for r in 0..<R {
                    for t in 0..<T {
                        XCTAssertEqual(array.complexValues[((n * K + k) * R + r) * T + t], value(n, k, r, t))
                    }
                }
            }
        }
    }

    /// A C-order array written by the generic writer loads into the tensor at the right indices.
    func testLoadsCOrderArray() throws {
        let (N, K, R, T) = (3, 2, 4, 2)
        var values = [Complex<Float>]()
        for n in 0..<N { for k in 0..<K { for r in 0..<R { for t in 0..<T { values.append(value(n, k, r, t)) } } } }
        let path = temp("c-order.npy")
        try NumpyArray(shape: [N, K, R, T], complex: values).write(to: path)
        let tensor = try ChannelTensor.load(npy: path)
        XCTAssertEqual(
            [tensor.subcarriers, tensor.devices, tensor.receiveAntennas, tensor.transmitAntennas], [N, K, R, T])
        for n in 0..<N {
            for k in 0..<K {
                for r in 0..<R {
                    for t in 0..<T {
                        XCTAssertEqual(tensor[n, k, r, t], value(n, k, r, t), "[\(n), \(k), \(r), \(t)]")
                    }
                }
            }
        }
    }

    func testSaveThenLoadIsIdentity() throws {
        // Distinct value at every index, awkward sizes so a swapped axis cannot go unnoticed.
        let (N, K, R, T) = (5, 3, 4, 2)
        var tensor = ChannelTensor(subcarriers: N, devices: K, receiveAntennas: R, transmitAntennas: T)
        for i in tensor.elements.indices { tensor.elements[i] = Complex(Float(i) * 0.25 - 3, -Float(i * i) / 7) }
        let path = temp("round.npy")
        try tensor.save(npy: path)
        XCTAssertEqual(try ChannelTensor.load(npy: path), tensor)
        // And through the generic reader.
        XCTAssertEqual(try NumpyArray.read(path: path), tensor.numpyArray())
    }

    /// A float32 file is a valid NumpyArray but not a channel tensor.
    func testRealArrayIsNotAChannelTensor() throws {
        let path = temp("real4d.npy")
        try NumpyArray(shape: [1, 1, 1, 2], real: [1, 2]).write(to: path)
        assertThrows(try ChannelTensor.load(npy: path)) {
            if case .wrongDType(path: path, found: "<f4", _) = $0 { return true }
            return false
        }
    }

    func testWrongNumberOfDimensions() throws {
        let path = temp("three.npy")
        try NumpyArray(shape: [2, 3, 4], complex: Array(repeating: .one, count: 24)).write(to: path)
        assertThrows(try ChannelTensor.load(npy: path)) {
            if case .wrongShape(path: path, found: [2, 3, 4], _) = $0 { return true }
            return false
        }
        // Four dimensions but an empty one.
        let empty = temp("empty.npy")
        try NumpyArray(shape: [2, 0, 1, 1], complex: []).write(to: empty)
        assertThrows(try ChannelTensor.load(npy: empty)) {
            if case .wrongShape(_, found: [2, 0, 1, 1], _) = $0 { return true }
            return false
        }
    }

    func testNonFiniteElement() throws {
        var values = [Complex<Float>](repeating: .one, count: 8)
        values[5] = Complex(1, .nan)
        let path = temp("nan.npy")
        try NumpyArray(shape: [2, 1, 2, 2], complex: values).write(to: path)
        assertThrows(try ChannelTensor.load(npy: path)) { $0 == .nonFinite(path: path, index: 5) }
        values[5] = .one
        values[2] = Complex(-.infinity, 0)
        try NumpyArray(shape: [2, 1, 2, 2], complex: values).write(to: path)
        assertThrows(try ChannelTensor.load(npy: path)) { $0 == .nonFinite(path: path, index: 2) }
    }

    func testMissingFile() {
        let path = temp("does-not-exist.npy")
        assertThrows(try ChannelTensor.load(npy: path)) {
            if case .unreadable(path: path, _) = $0 { return true }
            return false
        }
    }
}
