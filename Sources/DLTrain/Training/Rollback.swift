/// The state at an epoch's start, kept in memory for `on_nonfinite: "rollback"`.
struct RollbackPoint {
    let parameters: [Float]
    let optimizer: [[Float]]
    let steps: Int
    let state: TrainingState

    init(of trainer: Trainer) {
        parameters = Array(trainer.parameters.values)
        optimizer = trainer.optimizerState.map { Array($0.buffer) }
        steps = trainer.optimizerSteps
        state = trainer.state
    }

    /// Puts the trainer back, keeping its count of rollbacks and the halved rate they brought.
    func restore(into trainer: Trainer) {
        for i in parameters.indices { trainer.parameters.values[i] = parameters[i] }
        for (k, (_, buffer)) in trainer.optimizerState.enumerated() { for i in 0..<buffer.count { buffer[i] = optimizer[k][i] } }
        trainer.optimizerSteps = steps
        let rollbacks = trainer.state.rollbacks, scale = trainer.state.rateScale
        trainer.state = state
        trainer.state.rollbacks = rollbacks
        trainer.state.rateScale = scale
    }
}
