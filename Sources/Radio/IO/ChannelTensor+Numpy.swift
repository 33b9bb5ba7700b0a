import Numerics
import NumpyIO

/// `.npy` load and save of channels (the format itself is the NumpyIO module).
extension ChannelTensor {
    /// Reads channels saved as complex64 `.npy` of shape (N_sc, K, N_r, N_t), C order.
    public static func load(npy path: String) throws -> ChannelTensor {
        let array = try NumpyArray.read(path: path)
        guard array.dtype == .complex64 else {
            throw NumpyError.wrongDType(path: path, found: array.dtype.rawValue, expected: "complex64 '<c8'")
        }
        guard array.shape.count == 4, array.shape.allSatisfy({ $0 > 0 }) else {
            throw NumpyError.wrongShape(
                path: path, found: array.shape, expected: "(N_sc, K, N_r, N_t) with every dimension > 0")
        }
        let (N, K, R, T) = (array.shape[0], array.shape[1], array.shape[2], array.shape[3])
        var tensor = ChannelTensor(subcarriers: N, devices: K, receiveAntennas: R, transmitAntennas: T)
        var i = 0
        for n in 0..<N {
            for k in 0..<K {
                for r in 0..<R {
                    for t in 0..<T {
                        let h = array.complexValues[i]
                        guard h.real.isFinite && h.imaginary.isFinite else {
                            throw NumpyError.nonFinite(path: path, index: i)
                        }
                        tensor[n, k, r, t] = h
                        i += 1
                    }
                }
            }
        }
        return tensor
    }

    /// The channels as complex64 `.npy` of shape (N_sc, K, N_r, N_t), C order.
    public func numpyArray() -> NumpyArray {
        var values = [Complex<Float>]()
        values.reserveCapacity(elements.count)
        for n in 0..<subcarriers {
            for k in 0..<devices {
                for r in 0..<receiveAntennas {
                    for t in 0..<transmitAntennas {
                        values.append(self[n, k, r, t])
                    }
                }
            }
        }
        return NumpyArray(shape: [subcarriers, devices, receiveAntennas, transmitAntennas], complex: values)
    }

    /// Writes the channels atomically as `.npy`.
    public func save(npy path: String) throws { try numpyArray().write(to: path) }
}
