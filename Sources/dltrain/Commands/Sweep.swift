import ArgumentParser
import DLData
import DLTrain
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Search hyperparameters: grid, random or successive-halving trials, each a fit run.",
        discussion: """
            Example:
              dltrain sweep configs/digits-sweep.json --parallel 2
              dltrain sweep configs/digits-sweep.json --resume

            Each trial is the base config with the trial's parameters and a seed derived from
            the sweep seed and those parameters, saved as trial-K/trial.json (dltrain fit on it
            reproduces the trial) and run by dltrain fit in trial-K/. The sweep directory gets
            journal.jsonl (every start and end, flushed), leaderboard.csv (best first),
            best.json (the best trial's complete config) and sweep.svg (the metric against each
            numeric parameter). --resume skips finished trials and reruns interrupted ones.
            A trial that fails or diverges is recorded with its error; the sweep goes on.
            """
    )

    @Argument(help: "The JSON sweep file.")
    var sweep: String

    @Option(help: "Trials at a time (overrides the file's \"parallel\"); the cores are divided between them.")
    var parallel: Int?

    @Flag(help: "Continue the sweep in the sweep directory: finished trials are kept, the rest run.")
    var resume = false

    func validate() throws {
        if let parallel, parallel < 1 { throw ValidationError("--parallel needs at least 1, got \(parallel)") }
    }

    func run() throws {
        let spec = try SweepSpec.load(sweep, parallel: parallel)
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let replicas = MPI.launchedAsRank ? try MPI() : nil
        defer { replicas?.finish() }
        let runner = try Sweep(spec: spec, resume: resume, binary: binary, replicas: replicas)
        InterruptSignal.install()
        try runner.run()
        guard runner.reports else { return }
        if let best = runner.leader(), let outcome = runner.outcomes[best.id], let metric = outcome.metric {
            printError(String(format: "best: trial %d, %@ %.4f; %@/leaderboard.csv, %@/best.json", best.id, spec.metric, metric, spec.out, spec.out))
        } else {
            printError("no trial finished; see \(spec.out)/leaderboard.csv and the trials' fit.log")
        }
    }
}
