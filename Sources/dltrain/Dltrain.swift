import ArgumentParser
import DLData
import DLTrain
import Foundation

@main
struct Dltrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dltrain",
        abstract: "Train neural networks from a declarative JSON config.",
        discussion: """
            Example:
              dltrain fit configs/xor.json
              dltrain fit configs/xor.json --set optimizer.lr=0.01 --out runs/xor-fast
              dltrain eval runs/digits/checkpoints/best.h5 --data data/digits.csv --split test
              dltrain predict runs/digits/checkpoints/best.h5 --data new.csv --out predictions.csv

            Exit codes: 0 success; 1 a run that failed (diverged, could not write);
            2 bad usage, config or data.
            """,
        version: dltrainVersion,
        subcommands: [Fit.self, Init.self, Eval.self, Predict.self, Explain.self, Inspect.self, Export.self, SweepCommand.self, GradCheck.self, Check.self, SchemaCommand.self]
    )

    /// Runs the command; maps errors to the documented exit codes (ArgumentParser's own
    /// usage errors become 2, not its default 64).
    static func main() {
        HDF5Isolation.runTrialIfAsked()
        Checkpoint.runTrialIfAsked()
        HDF5Isolation.executable = "/proc/self/exe"
        Checkpoint.isolatedTrial = { try Checkpoint.spawnTrial(of: $0, executable: "/proc/self/exe") }
        // Only commands that compute pay for the re-exec; --version and --help stay instant.
        if let command = CommandLine.arguments.dropFirst().first, ["fit", "eval", "predict", "gradcheck", "check", "sweep"].contains(command),
           !CommandLine.arguments.contains("--help") && !CommandLine.arguments.contains("-h") {
            ComputeEnvironment.prepare()
        }
        ParentWatch.start()
        // A file-size limit (ulimit -f) must fail the write that crosses it (EFBIG, reported
        // with the file's name) instead of killing the process mid-checkpoint.
        signal(SIGXFSZ, SIG_IGN)
        // Likewise a closed pipe on stderr (`dltrain fit ... 2>&1 | tee log`, the terminal
        // gone): the write fails (EPIPE, ignored) instead of killing the run unsaved.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if let interrupted = error as? Interrupted {
                printError(interrupted.description)
                if let checkpoint = interrupted.checkpoint {
                    printError("continue it with:\n  " + (checkpoint.hasSuffix("journal.jsonl")
                        ? (["dltrain"] + CommandLine.arguments.dropFirst().filter { $0 != "--resume" } + ["--resume"]).joined(separator: " ")
                        : Fit.resumeCommand(checkpoint)))
                }
                Foundation.exit(interrupted.exitCode)
            }
            if let status = exitStatus(for: error) {
                printError("error: \(error)")
                // Without the exit handlers: libhdf5's own, run after a write that failed
                // (a full disk), can crash while it tidies up a file already closed.
                fflush(nil)
                _exit(status)
            }
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            printError(fullMessage(for: error))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
