/// Labels of the PRNG substreams, so no two purposes share one by accident.
public enum RandomStream: UInt64, Sendable {
    case channelTaps = 1
    case largeScale = 2
    case csiError = 3
    case noise = 4
    case update = 5
    case beamformerStart = 6
    case timeEvolution = 7
    case lineOfSight = 8
    case combinedNoise = 9
    /// φ_k(0) of each device's LOS path; its own stream so adding it moved no other draw.
    case lineOfSightPhase = 10
    /// The thermal noise drawn in the combiner's space (`ReceiverSpace.combiner`).
    case combinerNoise = 11
    /// The random direction the base station measures the loss's curvature along (`CurvatureProbe`).
    case curvatureProbe = 12
}
