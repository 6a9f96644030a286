import DLOptim

/// The one place optimizers are built from `optimizer.*`: `fit`, `check` and every other
/// caller take theirs from here, so the configured ε, weight decay and AdamW's decoupling
/// mean the same everywhere. Unset keys take the optimizer's own defaults (DLOptim's
/// `defaultEpsilon` and friends, PyTorch's values).
enum OptimizerFactory {
    /// The update rule `settings` names: a first-order optimizer, or L-BFGS (full batch).
    enum Built {
        case firstOrder(Optimizer)
        case lbfgs(LBFGS)
    }

    static func make(_ o: Config.OptimizerSettings, parameterCount count: Int, spans: [Range<Int>]) -> Built {
        if o.name == "lbfgs" { return .lbfgs(LBFGS(parameterCount: count, spans: spans, history: o.history ?? LBFGS.defaultHistory)) }
        return .firstOrder(firstOrder(o, parameterCount: count, spans: spans)!)
    }

    /// The first-order optimizer `settings` names; nil for lbfgs.
    static func firstOrder(_ o: Config.OptimizerSettings, parameterCount count: Int, spans: [Range<Int>]) -> Optimizer? {
        let epsilon = o.epsilon.map(Float.init)
        let decay = o.weightDecay.map(Float.init) ?? (o.name == "adamw" ? Adam.defaultDecoupledWeightDecay : 0)
        switch o.name {
        case "sgd":
            return SGD(parameterCount: count, spans: spans, momentum: Float(o.momentum), nesterov: o.nesterov, weightDecay: decay)
        case "adagrad":
            return AdaGrad(parameterCount: count, spans: spans, epsilon: epsilon ?? AdaGrad.defaultEpsilon, weightDecay: decay)
        case "rmsprop":
            return RMSProp(parameterCount: count, spans: spans, decay: o.decay.map(Float.init) ?? RMSProp.defaultDecay,
                           epsilon: epsilon ?? RMSProp.defaultEpsilon, weightDecay: decay)
        case "adam", "adamw":
            return Adam(parameterCount: count, spans: spans, beta1: Float(o.betas.0), beta2: Float(o.betas.1),
                        epsilon: epsilon ?? Adam.defaultEpsilon, weightDecay: decay, decoupled: o.name == "adamw")
        default:
            return nil
        }
    }

    /// For the checks that need a first-order method: the configured one, or Adam with its
    /// defaults in place of L-BFGS (whose full-batch steps the checks do not take).
    static func firstOrderOrAdam(_ o: Config.OptimizerSettings, parameterCount count: Int, spans: [Range<Int>]) -> Optimizer {
        firstOrder(o, parameterCount: count, spans: spans) ?? Adam(parameterCount: count, spans: spans)
    }
}
