import ArgumentParser
import DLData
import DLTrain
import Foundation

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a config file, or from a CSV table and its target.",
        discussion: """
            Example:
              dltrain fit configs/xor.json --set training.epochs=500
              dltrain fit configs/digits.json --folds 5
              dltrain fit configs/digits.json --resume runs/digits/checkpoints/last.h5
              dltrain fit penguins.csv --target species

            Writes config.json, metrics.csv, curves.svg, summary.json and
            checkpoints/last.h5 and best.h5 into the run directory (output.dir, or --out,
            or runs/CONFIG-NAME; a default directory that holds a run gives way to
            runs/CONFIG-NAME-2, an explicit one is refused without --overwrite). Ctrl-C,
            SIGTERM and SIGHUP finish the current step, save last.h5 and print the command
            that resumes the run exactly.
            """
    )

    @OptionGroup var config: ConfigOptions

    @Option(help: "Run directory (overrides output.dir; with --resume, default the checkpoint's run).")
    var out: String?

    @Option(help: ArgumentHelp("Continue the run saved in this checkpoint (checkpoints/last.h5 of a run), exactly where it stopped. The config must be the run's; only training.epochs may grow.", valueName: "CKPT"))
    var resume: String?

    @Flag(help: "Replace the run that the run directory (--out or output.dir) holds; without it such a directory is refused, and the default one gives way to runs/NAME-2, -3...")
    var overwrite = false

    @Flag(help: "Print only the final summary.")
    var quiet = false

    @Flag(help: "Also print how the training step's matrix products are shared between the threads, and how memory is paged (transparent huge pages).")
    var verbose = false

    @Option(help: ArgumentHelp("K-fold cross-validation: train K models, each validated on one fold of the training data, and report the metric's mean and spread.", valueName: "K"))
    var folds: Int?

    @Option(help: ArgumentHelp("mpi: data-parallel over the ranks of an MPI job (automatic when mpirun starts several ranks).", valueName: "mpi"))
    var distributed: Distribution?

    func validate() throws {
        if let folds, folds < 2 { throw ValidationError("--folds needs at least 2 folds, got \(folds)") }
    }

    func run() throws {
        if folds != nil {
            guard resume == nil else { throw ValidationError("--folds and --resume do not go together") }
            guard distributed == nil && !MPI.launchedAsRank else { throw ValidationError("--folds runs in one process; start it without mpirun") }
        }
        try FitRun.run(try config.load(crossValidation: folds != nil),
                       FitRun.Options(out: out, resume: resume, quiet: quiet, verbose: verbose, folds: folds, distributed: distributed == .mpi,
                                      overwrite: overwrite))
    }

    /// This invocation with `--resume CHECKPOINT` in place of any earlier `--resume`.
    static func resumeCommand(_ checkpoint: String) -> String {
        var words: [String] = []
        var skip = false
        for word in CommandLine.arguments.dropFirst() {
            if skip { skip = false; continue }
            if word == "--resume" { skip = true; continue }
            if word.hasPrefix("--resume=") { continue }
            words.append(word.contains(" ") ? "'\(word)'" : word)
        }
        return (["dltrain"] + words + ["--resume", checkpoint]).joined(separator: " ")
    }
}

enum Distribution: String, ExpressibleByArgument { case mpi }
