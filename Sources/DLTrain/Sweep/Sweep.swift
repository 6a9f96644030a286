import DLCore
import Foundation

/// `dltrain sweep`: trials as independent runs of `dltrain fit` (each its own run directory
/// and process, so a crash or divergence fails one trial, not the sweep), `parallel` at a time
/// with the cores divided between them, recorded in an append-only journal that `--resume`
/// replays: finished trials are skipped, interrupted ones run again, none runs twice.
public final class Sweep {
    public struct Trial {
        public var id: Int
        public var parameters: [(path: String, value: JSON)]
        public var seed: UInt64
        public var round: Int
    }

    public struct Outcome {
        public var metric: Double?
        public var bestEpoch: Int?
        public var seconds: Double
        public var status: String
        public var error: String?
        public var epochs: Int
    }

    let spec: SweepSpec
    let binary: String
    let journalPath: String
    private var journal: FileHandle?
    /// Finished (trial, epochs) pairs and their outcomes, from the journal.
    private var finished: [String: Outcome] = [:]
    public private(set) var outcomes: [Int: Outcome] = [:]
    public private(set) var trials: [Int: Trial] = [:]
    public private(set) var ran = 0
    /// Over MPI: the ranks, each running every size-th trial; rank 0 writes the journal and outputs.
    let replicas: MPI?
    /// The signal that stopped the sweep (on any rank, under MPI), or 0.
    private var interruption: Int32 = 0

    public init(spec: SweepSpec, resume: Bool, binary: String, replicas: MPI? = nil) throws {
        let path = "\(spec.out)/journal.jsonl"
        let writes = (replicas?.rank ?? 0) == 0
        let exists = FileManager.default.fileExists(atPath: path)
        if writes {
            try FileManager.default.createDirectory(atPath: spec.out, withIntermediateDirectories: true)
            if exists && !resume {
                throw ConfigError(file: spec.file, path: "out", "\(spec.out) already holds a sweep (journal.jsonl); continue it with --resume, or choose another \"out\"")
            }
            if !exists { try createFileForWriting(path, what: "sweep journal").close() }
        }
        // Other ranks read the journal before the first exchange, so before rank 0 appends to it.
        let done = exists && resume ? try Sweep.readJournal(path) : [:]
        let handle = writes ? FileHandle(forUpdatingAtPath: path) : nil
        // A line torn by a crash mid-write is skipped when read; end it, so the next event
        // starts a line of its own instead of joining it.
        if let handle, handle.seekToEndOfFile() > 0 {
            handle.seek(toFileOffset: handle.offsetInFile - 1)
            if handle.readData(ofLength: 1) != Data("\n".utf8) { handle.write(Data("\n".utf8)) }
        }
        self.spec = spec
        self.binary = binary
        self.replicas = replicas
        journalPath = path
        finished = done
        journal = handle
    }

    /// Whether this process reports (prints, writes outputs): rank 0, or the only process.
    public var reports: Bool { (replicas?.rank ?? 0) == 0 }

    /// The trials a journal records as finished or failed, by "trial@epochs"; a torn last
    /// line (a crash mid-write) is skipped.
    static func readJournal(_ path: String) throws -> [String: Outcome] {
        var done: [String: Outcome] = [:]
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        for line in lines {
            let parsed: JSON
            do { parsed = try JSON.parse(line) } catch { continue }
            let kind = field(parsed, "event").text ?? ""
            guard kind == "finish" || kind == "fail", let (id, outcome) = outcome(of: parsed) else { continue }
            done["\(id)@\(outcome.epochs)"] = outcome
        }
        return done
    }

    /// The trial and outcome a finish or fail event records.
    static func outcome(of event: JSON) -> (trial: Int, outcome: Outcome)? {
        guard let id = field(event, "trial").number, let epochs = field(event, "epochs").number else { return nil }
        return (Int(id), Outcome(metric: field(event, "metric").number, bestEpoch: field(event, "best_epoch").number.map { Int($0) },
                                 seconds: field(event, "seconds").number ?? 0, status: field(event, "status").text ?? "failed",
                                 error: field(event, "error").text, epochs: Int(epochs)))
    }

    /// One member of a journal event as a number or text. Not inlined: Swift 6.3's optimizer
    /// crashes (an ownership verification error) on the inlined optional-chained accessors here.
    @inline(never)
    static func field(_ event: JSON, _ key: String) -> (number: Double?, text: String?) {
        guard let value = event[key] else { return (nil, nil) }
        switch value.kind {
        case .number(let x): return (x, nil)
        case .string(let s): return (nil, s)
        default: return (nil, nil)
        }
    }

    deinit { try? journal?.close() }

    private func record(_ event: JSON) {
        try? journal?.write(contentsOf: Data((event.rendered(indent: nil) + "\n").utf8))
        try? journal?.synchronize()
    }

    // MARK: Trials

    /// A trial's seed from the sweep seed and its parameters (FNV-1a over their canonical
    /// JSON), so a trial means the same run whatever else the sweep holds; 53 bits, exact in JSON.
    static func seed(_ sweepSeed: UInt64, _ parameters: [(path: String, value: JSON)]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ sweepSeed
        for byte in parameters.map({ "\($0.path)=\($0.value.rendered(indent: nil))" }).joined(separator: ";").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash & ((1 << 53) - 1)
    }

    /// Every combination of the grid's values, the last parameter varying fastest.
    static func grid(_ parameters: [(path: String, domain: SweepSpec.Domain)]) -> [[(path: String, value: JSON)]] {
        var combinations: [[(path: String, value: JSON)]] = [[]]
        for (path, domain) in parameters {
            guard case .values(let values) = domain else { continue }
            combinations = combinations.flatMap { prefix in values.map { prefix + [(path, $0)] } }
        }
        return combinations
    }

    /// One random draw from `domain`.
    static func draw(_ domain: SweepSpec.Domain, _ rng: inout RandomSource) -> JSON {
        switch domain {
        case .values(let values): return values[Int(rng.next() % UInt64(values.count))]
        case .uniform(let a, let b): return .number(a + (b - a) * rng.uniform())
        case .logUniform(let a, let b): return .number(Foundation.exp(Foundation.log(a) + (Foundation.log(b) - Foundation.log(a)) * rng.uniform()))
        case .intUniform(let a, let b): return .number(Double(a + Int(rng.next() % UInt64(b - a + 1))))
        case .quantized(let a, let b, let q):
            let value = ((a + (b - a) * rng.uniform()) / q).rounded() * q
            return .number(Swift.min(Swift.max(value, (a / q).rounded(.up) * q), (b / q).rounded(.down) * q))
        }
    }

    /// The ranges of a refined round: each numeric range shrunk around `best`'s value (in log
    /// space for log_uniform), kept inside the original.
    static func refined(_ parameters: [(path: String, domain: SweepSpec.Domain)], around best: Trial, shrink: Double, round: Int)
        -> [(path: String, domain: SweepSpec.Domain)]
    {
        let factor = Foundation.pow(shrink, Double(round))
        return parameters.map { path, domain in
            guard let center = best.parameters.first(where: { $0.path == path })?.value.number else { return (path, domain) }
            func window(_ a: Double, _ b: Double) -> (Double, Double) {
                let half = (b - a) * factor / 2
                let low = Swift.max(a, Swift.min(center - half, b - 2 * half)), high = Swift.min(b, Swift.max(center + half, a + 2 * half))
                return (low, high)
            }
            switch domain {
            case .uniform(let a, let b): let (l, h) = window(a, b); return (path, .uniform(l, h))
            case .quantized(let a, let b, let q): let (l, h) = window(a, b); return (path, .quantized(l, h, q: q))
            case .intUniform(let a, let b):
                let (l, h) = window(Double(a), Double(b))
                return (path, .intUniform(Int(l.rounded(.down)), Swift.max(Int(l.rounded(.down)), Int(h.rounded(.up)))))
            case .logUniform(let a, let b):
                let la = Foundation.log(a), lb = Foundation.log(b), c = Foundation.log(center), half = (lb - la) * factor / 2
                let low = Swift.max(la, Swift.min(c - half, lb - 2 * half)), high = Swift.min(lb, Swift.max(c + half, la + 2 * half))
                return (path, .logUniform(Foundation.exp(low), Foundation.exp(high)))
            case .values: return (path, domain)
            }
        }
    }

    // MARK: Running

    /// Runs the whole sweep; returns the trials' outcomes (also in leaderboard.csv).
    public func run() throws {
        var rng = RandomSource(seed: spec.seed)
        var nextID = 1
        var domains = spec.parameters
        for round in 1...spec.refineRounds {
            var batch: [Trial] = []
            let draws = spec.method == .grid ? Sweep.grid(domains) : (0..<spec.trials).map { _ in domains.map { ($0.path, Sweep.draw($0.domain, &rng)) } }
            for parameters in draws {
                batch.append(Trial(id: nextID, parameters: parameters, seed: Sweep.seed(spec.seed, parameters), round: round))
                nextID += 1
            }
            for trial in batch { trials[trial.id] = trial }
            if spec.method == .halving { try halving(batch) } else { try runAll(batch.map { ($0, nil) }) }
            if interruption != 0 {
                if reports { try writeOutputs() }
                throw Interrupted(signal: interruption, checkpoint: journalPath)
            }
            if round < spec.refineRounds, let best = leader() {
                domains = Sweep.refined(spec.parameters, around: best, shrink: spec.shrink, round: round)
                if reports { printError("round \(round) done; refining around trial \(best.id): " + domains.compactMap { p in p.domain.numeric.map { String(format: "%@ %.4g...%.4g", p.path, $0.low, $0.high) } }.joined(separator: ", ")) }
            }
        }
        if reports { try writeOutputs() }
    }

    /// Successive halving (Jamieson and Talwalkar 2016): every trial trains min_epochs; the
    /// best 1/eta continue, resumed from their checkpoints, to eta times the epochs; and so on
    /// to max_epochs. The rest stop early (status "stopped at rung N").
    private func halving(_ batch: [Trial]) throws {
        var alive = batch, epochs = spec.minEpochs, rung = 0
        while true {
            try runAll(alive.map { ($0, epochs) })
            let ranked = alive.filter { outcomes[$0.id]?.metric != nil }.sorted { better(outcomes[$0.id]!.metric!, than: outcomes[$1.id]!.metric!) }
            if epochs >= spec.maxEpochs || ranked.count <= 1 { break }
            let keep = Swift.max(1, Int((Double(alive.count) / Double(spec.eta)).rounded(.down)))
            for trial in ranked.dropFirst(keep) { outcomes[trial.id]?.status = "stopped at rung \(rung)" }
            alive = Array(ranked.prefix(keep))
            epochs = Swift.min(spec.maxEpochs, epochs * spec.eta)
            rung += 1
        }
    }

    private func better(_ a: Double, than b: Double) -> Bool { spec.maximize ? a > b : a < b }

    public func leader() -> Trial? {
        trials.values.filter { outcomes[$0.id]?.metric != nil }
            .min { a, b in better(outcomes[a.id]!.metric!, than: outcomes[b.id]!.metric!) || (outcomes[a.id]!.metric! == outcomes[b.id]!.metric! && a.id < b.id) }
    }

    /// Runs trials (each to `epochs`, or its config's), `parallel` at a time.
    private func runAll(_ work: [(Trial, Int?)]) throws {
        if let replicas { return try runDistributed(work, over: replicas) }
        defer { interruption = InterruptSignal.pending }
        let cores = AvailableCPUs.count
        let threads = Swift.max(1, cores / spec.parallel)
        var queue = work[...]
        var running: [(trial: Trial, epochs: Int, process: Process, started: Date, log: String)] = []
        var forwarded = false
        while !queue.isEmpty || !running.isEmpty {
            if InterruptSignal.pending != 0 {
                // Ctrl-C: no new trials; the running ones get the signal (they save and stop).
                queue = []
                if !forwarded { for r in running { r.process.interrupt() } }
                forwarded = true
            }
            while running.count < spec.parallel, let (trial, requested) = queue.first {
                queue = queue.dropFirst()
                let epochs = requested ?? spec.maxEpochs
                if let done = finished["\(trial.id)@\(epochs)"] {
                    outcomes[trial.id] = done
                    printError(line(trial, done))
                    continue
                }
                let started = try start(trial, epochs: epochs, threads: threads)
                record(started.event)
                running.append(started.run)
            }
            guard !running.isEmpty else { continue }
            usleep(20_000)
            for k in running.indices.reversed() where !running[k].process.isRunning {
                let r = running.remove(at: k)
                if [130, 143].contains(r.process.terminationStatus) || r.process.terminationReason == .uncaughtSignal {
                    // Interrupted, not failed: --resume runs it again.
                    record(.object([("event", .string("interrupted")), ("trial", .number(Double(r.trial.id))), ("epochs", .number(Double(r.epochs)))]))
                    printError("trial \(r.trial.id) interrupted; --resume runs it again")
                    continue
                }
                let outcome = collect(r.trial, epochs: r.epochs, process: r.process, seconds: Date().timeIntervalSince(r.started), log: r.log)
                outcomes[r.trial.id] = outcome
                record(Sweep.event(r.trial, outcome))
                ran += 1
                printError(line(r.trial, outcome))
            }
        }
    }

    /// The journal's finish or fail event for a trial's outcome.
    static func event(_ trial: Trial, _ outcome: Outcome) -> JSON {
        var event: [(String, JSON)] = [("event", .string(outcome.metric == nil ? "fail" : "finish")), ("trial", .number(Double(trial.id))),
                                       ("epochs", .number(Double(outcome.epochs))), ("status", .string(outcome.status)), ("seconds", .number(outcome.seconds))]
        if let m = outcome.metric { event.append(("metric", .number(m))) }
        if let e = outcome.bestEpoch { event.append(("best_epoch", .number(Double(e)))) }
        if let e = outcome.error { event.append(("error", .string(e))) }
        return .object(event)
    }

    /// Over MPI: in slots of `size` trials, rank r runs the slot's r-th (one trial at a time,
    /// with its share of the machine's cores); after each slot the ranks exchange their
    /// journal events (and whether a signal arrived), so every rank knows every outcome, which
    /// halving and refining need, and rank 0 journals and prints them in trial order.
    private func runDistributed(_ work: [(Trial, Int?)], over mpi: MPI) throws {
        let threads = AvailableCPUs.perProcess(ranks: MPI.localRanks)
        for slot in stride(from: 0, to: work.count, by: mpi.size) {
            var events: [JSON] = []
            let index = slot + mpi.rank
            if index < work.count && InterruptSignal.pending == 0 {
                let (trial, requested) = work[index]
                let epochs = requested ?? spec.maxEpochs
                if finished["\(trial.id)@\(epochs)"] == nil {
                    let (run, startEvent) = try start(trial, epochs: epochs, threads: threads)
                    events.append(startEvent.setting(.number(Double(mpi.rank)), at: ["rank"]))
                    var forwarded = false
                    while run.process.isRunning {
                        if InterruptSignal.pending != 0 && !forwarded {
                            run.process.interrupt()
                            forwarded = true
                        }
                        usleep(20_000)
                    }
                    if [130, 143].contains(run.process.terminationStatus) || run.process.terminationReason == .uncaughtSignal {
                        events.append(.object([("event", .string("interrupted")), ("trial", .number(Double(trial.id))), ("epochs", .number(Double(epochs)))]))
                    } else {
                        events.append(Sweep.event(trial, collect(trial, epochs: epochs, process: run.process, seconds: Date().timeIntervalSince(run.started), log: run.log)))
                    }
                }
            }
            let message = JSON.object([("signal", .number(Double(InterruptSignal.pending))), ("events", .array(events))])
            let all = mpi.gather(Array(message.rendered(indent: nil).utf8))
            for (rank, bytes) in all.enumerated() {
                guard let received = try? JSON.parse(String(decoding: bytes, as: UTF8.self)) else { continue }
                if let signal = received["signal"]?.number, signal > 0, interruption == 0 { interruption = Int32(signal) }
                let index = slot + rank
                if index < work.count, received["events"]?.items?.isEmpty ?? true {
                    // Finished before (the journal has it): every rank restores it alike.
                    let (trial, requested) = work[index]
                    if let done = finished["\(trial.id)@\(requested ?? spec.maxEpochs)"] {
                        outcomes[trial.id] = done
                        if reports { printError(line(trial, done)) }
                    }
                }
                for event in received["events"]?.items ?? [] {
                    record(event)
                    let kind = Sweep.field(event, "event").text
                    guard let id = Sweep.field(event, "trial").number.map({ Int($0) }), let trial = trials[id] else { continue }
                    if kind == "interrupted" {
                        if reports { printError("trial \(id) interrupted; --resume runs it again") }
                    } else if kind == "finish" || kind == "fail", let (_, outcome) = Sweep.outcome(of: event) {
                        outcomes[id] = outcome
                        ran += 1
                        if reports { printError(line(trial, outcome)) }
                    }
                }
            }
            if interruption != 0 { return }
        }
    }

    func directory(_ trial: Trial) -> String { "\(spec.out)/trial-\(trial.id)" }

    /// The trial's complete config: the base with its parameters, its seed, its BLAS threads.
    func config(_ trial: Trial, epochs: Int, threads: Int) throws -> JSON {
        let base = try Config.load(spec.base)
        var json = base.resolved
        for (path, value) in trial.parameters {
            json = try applyOverride("\(path)=\(value.string ?? value.rendered(indent: nil))", to: json, schema: ConfigSchema.root)
        }
        json = json.setting(.number(Double(trial.seed)), at: ["seed"])
        json = json.setting(.number(Double(epochs)), at: ["training", "epochs"])
        json = json.setting(.number(Double(threads)), at: ["training", "threads"])
        json = json.setting(.string(directory(trial)), at: ["output", "dir"])
        return json
    }

    /// Starts a trial's `dltrain fit` and returns it with its journal start event.
    private func start(_ trial: Trial, epochs: Int, threads: Int) throws -> (run: (trial: Trial, epochs: Int, process: Process, started: Date, log: String), event: JSON) {
        let dir = directory(trial)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let configPath = "\(dir)/trial.json"
        try (try config(trial, epochs: epochs, threads: threads)).rendered().write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        var arguments = ["fit", configPath, "--quiet", "--out", dir]
        // A promoted trial (halving) continues from its checkpoint instead of starting again.
        let last = "\(dir)/checkpoints/last.h5"
        var resumedFrom: Int? = nil
        if spec.method == .halving, FileManager.default.fileExists(atPath: last),
           let saved = try? Checkpoint.read(last), saved.state.epoch < epochs, !saved.state.stoppedEarly {
            arguments += ["--resume", last]
            resumedFrom = saved.state.epoch
        } else {
            // The trial directory is the sweep's own: a trial run again (interrupted, or
            // rerun by --resume) replaces what its earlier attempt left.
            arguments.append("--overwrite")
        }
        let event = JSON.object([("event", .string("start")), ("trial", .number(Double(trial.id))), ("epochs", .number(Double(epochs))),
                                 ("parameters", .object(trial.parameters.map { ($0.path, $0.value) })), ("seed", .number(Double(trial.seed))),
                                 ("resumed_from_epoch", resumedFrom.map { .number(Double($0)) } ?? .null)])
        process.arguments = arguments
        let log = "\(dir)/fit.log"
        process.standardError = try createFileForWriting(log, what: "trial log")
        process.standardOutput = FileHandle.nullDevice
        // A trial is one process of its own: it must not take itself for a rank of an MPI job.
        let launcher = ["OMPI_", "PMIX_", "PMI_"]
        process.environment = ProcessInfo.processInfo.environment.filter { key, _ in !launcher.contains { key.hasPrefix($0) } }
            .merging(["DLTRAIN_REEXECUTED": "1", "DLTRAIN_PARENT_PID": String(getpid())]) { $1 }
        try process.run()
        return ((trial, epochs, process, Date(), log), event)
    }

    private func collect(_ trial: Trial, epochs: Int, process: Process, seconds: Double, log: String) -> Outcome {
        let dir = directory(trial)
        let status = process.terminationStatus
        guard status == 0, let text = try? String(contentsOfFile: "\(dir)/metrics.csv", encoding: .utf8) else {
            let message = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").last(where: { $0.hasPrefix("error:") || !$0.isEmpty }).map(String.init)
            return Outcome(metric: nil, bestEpoch: nil, seconds: seconds, status: status == 1 ? "diverged" : "failed (exit \(status))",
                           error: message ?? "exit \(status)", epochs: epochs)
        }
        let rows = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard let column = rows.first?.firstIndex(where: { $0 == spec.metric }) else {
            return Outcome(metric: nil, bestEpoch: nil, seconds: seconds, status: "failed", error: "\(spec.metric) not in metrics.csv", epochs: epochs)
        }
        var best: (Double, Int)? = nil
        for row in rows.dropFirst() {
            guard let value = Double(row[column]), value.isFinite, let epoch = Int(row[0]) else { continue }
            if best == nil || better(value, than: best!.0) { best = (value, epoch) }
        }
        return Outcome(metric: best?.0, bestEpoch: best?.1, seconds: seconds, status: best == nil ? "failed" : "finished", error: nil, epochs: epochs)
    }

    private func line(_ trial: Trial, _ outcome: Outcome) -> String {
        let values = trial.parameters.map { "\($0.path)=\($0.value.number.map { String(format: "%.4g", $0) } ?? $0.value.rendered(indent: nil))" }.joined(separator: " ")
        let result = outcome.metric.map { String(format: "%@ %.4f (epoch %d)", spec.metric, $0, outcome.bestEpoch ?? 0) } ?? "\(outcome.status): \(outcome.error ?? "")"
        return String(format: "trial %d  %@  %d epochs  %@  %.1fs", trial.id, values, outcome.epochs, result, outcome.seconds)
    }

    // MARK: Outputs

    /// leaderboard.csv (sorted, best first; failed trials last), best.json (the best trial's
    /// complete config, runnable with dltrain fit), sweep.svg (the metric against each numeric
    /// parameter, log axes for log_uniform).
    public func writeOutputs() throws {
        let ranked = trials.values.sorted { a, b in
            switch (outcomes[a.id]?.metric, outcomes[b.id]?.metric) {
            case let (x?, y?): return x == y ? a.id < b.id : better(x, than: y)
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.id < b.id
            }
        }
        let header = ["trial"] + spec.parameters.map(\.path) + [spec.metric, "best_epoch", "epochs", "seconds", "status"]
        var lines = [header.map(Evaluation.csvField).joined(separator: ",")]
        for trial in ranked {
            let o = outcomes[trial.id]
            var fields = ["\(trial.id)"] + spec.parameters.map { p in trial.parameters.first { $0.path == p.path }.map { $0.value.string ?? $0.value.rendered(indent: nil) } ?? "" }
            fields += [o?.metric.map { String(format: "%.6g", $0) } ?? "", o?.bestEpoch.map(String.init) ?? "", o.map { "\($0.epochs)" } ?? "",
                       o.map { String(format: "%.2f", $0.seconds) } ?? "", o?.status ?? "not run"]
            lines.append(fields.map(Evaluation.csvField).joined(separator: ","))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(spec.out)/leaderboard.csv", atomically: true, encoding: .utf8)
        if let best = leader() {
            let json = try config(best, epochs: spec.method == .halving ? spec.maxEpochs : (try Config.load(spec.base)).epochs, threads: AvailableCPUs.count)
                .setting(.string("\(spec.out)/best"), at: ["output", "dir"])
            try (json.rendered() + "\n").write(toFile: "\(spec.out)/best.json", atomically: true, encoding: .utf8)
        }
        var panels: [Chart.Panel] = []
        for (path, domain) in spec.parameters {
            guard let scale = domain.numeric else { continue }
            let points = trials.values.compactMap { t -> (x: Double, y: Double)? in
                guard let m = outcomes[t.id]?.metric, let v = t.parameters.first(where: { $0.path == path })?.value.number else { return nil }
                return (v, m)
            }.sorted { $0.x < $1.x }
            panels.append(Chart.Panel(title: "\(spec.metric) against \(path)", yLabel: spec.metric,
                                      series: [Chart.Series(name: "trials", points: points, color: "#1f77b4", dashed: false, dots: true)], logX: scale.log))
        }
        if !panels.isEmpty {
            let chart = Chart(title: "dltrain sweep: \((spec.file as NSString).lastPathComponent) (\(spec.method.rawValue), \(trials.count) trials)", xLabel: "value", panels: panels)
            try chart.svg().write(toFile: "\(spec.out)/sweep.svg", atomically: true, encoding: .utf8)
        }
    }
}
