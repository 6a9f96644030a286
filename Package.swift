// swift-tools-version:6.0
import PackageDescription

// Module layering (imports only point downwards):
//   dltrain (executable, ArgumentParser)
//     -> DLTrain (config, trainer, callbacks, checkpoints)
//          -> DLOptim (optimizers, schedules)   -> DLCore
//          -> DLNN (layers, losses, init)       -> DLCore
//          -> DLData (CSV, HDF5, loader)        -> DLCore, CHDF5Shim
//   DLCore (tensor, ops, autodiff) is the only module that sees BLAS.
let package = Package(
    name: "dltrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dltrain", targets: ["dltrain"]),
        .executable(name: "dltrain-fuzz", targets: ["dltrain-fuzz"]),
        .library(name: "DLTrain", targets: ["DLTrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // libhdf5's type identifiers (H5T_NATIVE_FLOAT, H5P_DEFAULT...) are macros over
        // library globals that Swift cannot import; this shim turns them into functions.
        .target(name: "CHDF5Shim", dependencies: ["CHDF5"]),
        .target(
            name: "DLCore",
            dependencies: ["COpenBLAS", "CKernels", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "DLNN", dependencies: ["DLCore", .product(name: "RealModule", package: "swift-numerics")]),
        // Hot loops compiled for several x86 levels, chosen at load time (Adam's update, narrow products),
        // and register tiles for small products, in AVX-512 or AVX2 as the CPU has them.
        .target(name: "CKernels"),
        .target(name: "DLOptim", dependencies: ["DLCore", "CKernels", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "DLData", dependencies: ["DLCore", "CHDF5Shim"]),
        .target(name: "DLTrain", dependencies: ["DLCore", "DLNN", "DLOptim", "DLData"]),
        .executableTarget(
            name: "dltrain",
            dependencies: ["DLTrain", "DLData", "DLCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzz targets (scripts/fuzz builds them with libFuzzer); built plainly, a replayer.
        .executableTarget(name: "dltrain-fuzz", dependencies: ["DLTrain", "DLData"]),
        .testTarget(name: "DLCoreTests", dependencies: ["DLCore", "CKernels", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["DLCore"], path: "Tests/TestSupport"),
        .testTarget(name: "DLNNTests", dependencies: ["DLNN", "DLCore"]),
        .testTarget(name: "DLDataTests", dependencies: ["DLData", "DLCore", "TestSupport"]),
        .testTarget(name: "DLOptimTests", dependencies: ["DLOptim", "DLCore"]),
        .testTarget(name: "DLTrainTests", dependencies: ["DLTrain", "DLNN", "DLOptim", "DLData", "DLCore", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["dltrain", "DLTrain", "DLCore", "TestSupport"]),
    ]
)
