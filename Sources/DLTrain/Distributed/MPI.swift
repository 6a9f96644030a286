import DLCore
import DLData
import Foundation

/// Open MPI, loaded at run time: dltrain builds and runs without it, and a process started
/// by `mpirun` (or with `--distributed mpi`) opens `libmpi.so.40` with `dlopen`.
///
/// Open MPI's handles (`MPI_COMM_WORLD`, `MPI_DOUBLE`, `MPI_SUM`...) are addresses of
/// exported globals (`ompi_mpi_comm_world`...), so the library's own symbols give them; MPICH,
/// whose handles are integer constants, is not supported.
public final class MPI: ReplicaGroup {
    public let rank: Int
    public let size: Int

    private typealias Handle = UnsafeMutableRawPointer
    private let allreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    private let allgather: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    private let finalize: @convention(c) () -> Int32
    private let world, float, double, byte, sumOp: Handle
    /// `MPI_IN_PLACE` in Open MPI.
    private let inPlace = UnsafeRawPointer(bitPattern: 1)

    /// The library names tried, newest ABI first.
    static let libraries = ["libmpi.so.40", "libmpi.so"]

    /// Whether a launcher started this process as one of several ranks (Open MPI's mpirun,
    /// or a PMI launcher such as Slurm's srun).
    public static var launchedAsRank: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"].contains { env[$0].flatMap(Int.init).map { $0 > 1 } ?? false }
    }

    /// Ranks of this job on this machine (to divide its cores).
    public static var localRanks: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
    }

    /// Initialises MPI; an error (exit 2) says what is missing.
    public init() throws {
        guard let library = MPI.libraries.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_GLOBAL) }).first else {
            throw DataError(file: "libmpi", "dltrain was started for MPI but cannot load Open MPI (\(MPI.libraries.joined(separator: ", ")): \(dlerror().map { String(cString: $0) } ?? "not found")); install it (apt-get install openmpi-bin libopenmpi-dev) or run without mpirun")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(library, name) else {
                throw DataError(file: "libmpi", "the MPI library has no \(name); dltrain supports Open MPI 4 or newer")
            }
            return address
        }
        typealias InitFunction = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32
        typealias RankFunction = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
        let initialize = unsafeBitCast(try symbol("MPI_Init"), to: InitFunction.self)
        let commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: RankFunction.self)
        let commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: RankFunction.self)
        allreduce = unsafeBitCast(try symbol("MPI_Allreduce"), to: type(of: allreduce))
        allgather = unsafeBitCast(try symbol("MPI_Allgather"), to: type(of: allgather))
        finalize = unsafeBitCast(try symbol("MPI_Finalize"), to: type(of: finalize))
        world = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        byte = try symbol("ompi_mpi_byte")
        sumOp = try symbol("ompi_mpi_op_sum")
        guard initialize(nil, nil) == 0 else { throw RunFailure("MPI_Init failed") }
        var value: Int32 = 0
        _ = commRank(world, &value)
        rank = Int(value)
        _ = commSize(world, &value)
        size = Int(value)
    }

    /// Ends MPI; call once, when every rank is done.
    public func finish() { _ = finalize() }

    /// Element-wise sum across ranks, in place (one MPI_Allreduce).
    public func sum(_ values: UnsafeMutablePointer<Double>, count: Int) {
        _ = allreduce(inPlace, values, Int32(count), double, sumOp, world)
    }

    public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        // MPI counts are 32-bit: sum in pieces that fit.
        var start = 0
        while start < count {
            let piece = Swift.min(count - start, Int(Int32.max))
            _ = allreduce(inPlace, values + start, Int32(piece), float, sumOp, world)
            start += piece
        }
    }

    /// Every rank's bytes, in rank order, on every rank (two MPI_Allgathers: the lengths, then
    /// the bytes padded to the longest).
    public func gather(_ bytes: [UInt8]) -> [[UInt8]] {
        var length = Int64(bytes.count)
        var lengths = [Int64](repeating: 0, count: size)
        _ = withUnsafeBytes(of: &length) { own in
            lengths.withUnsafeMutableBytes { allgather(own.baseAddress, 8, byte, $0.baseAddress, 8, byte, world) }
        }
        let longest = Int(lengths.max() ?? 0)
        var padded = bytes + [UInt8](repeating: 0, count: longest - bytes.count)
        var all = [UInt8](repeating: 0, count: longest * size)
        if longest > 0 {
            _ = padded.withUnsafeMutableBytes { own in
                all.withUnsafeMutableBytes { allgather(own.baseAddress, Int32(longest), byte, $0.baseAddress, Int32(longest), byte, world) }
            }
        }
        return (0..<size).map { r in Array(all[(r * longest)..<(r * longest + Int(lengths[r]))]) }
    }
}
