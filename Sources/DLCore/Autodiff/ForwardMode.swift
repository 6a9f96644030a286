/// Forward-mode products built by running the ordinary kernels on ``Dual`` numbers.
///
/// - `jvp`: seed each parameter's tangent with `v`, run forward: the output's tangents are
///   `J v`, one forward pass for any number of outputs.
/// - `hvp`: the same seeding, then forward *and* backward on duals (forward-over-reverse):
///   the parameter gradients' tangents are `H v`, the Hessian of the loss times `v`, exactly
///   and without ever forming `H`.
public enum ForwardMode {
    /// An executor on duals sharing `graph`, with parameters `theta` and tangents `direction`,
    /// inputs fed from `inputs` with tangents from `inputTangents` (zero where absent).
    public static func dualExecutor(
        graph: Graph, parameters theta: ParameterStore<Double>, direction: [Double],
        inputs: [NodeID: Tensor<Double>], inputTangents: [NodeID: Tensor<Double>] = [:], batchCapacity: Int
    ) throws -> Executor<Dual> {
        guard direction.count == graph.parameterCount else {
            throw ShapeError("forward mode", "the direction has \(direction.count) scalars, the parameters \(graph.parameterCount)")
        }
        let store = ParameterStore<Dual>(count: graph.parameterCount)
        for k in 0..<graph.parameterCount { store.values[k] = Dual(theta.values[k], tangent: direction[k]) }
        let executor = try Executor<Dual>(graph: graph, parameters: store, batchCapacity: batchCapacity)
        for (id, tensor) in inputs {
            var dual = tensor.converted(to: Dual.self)
            if let tangent = inputTangents[id] {
                guard tangent.shape == tensor.shape else {
                    throw ShapeError("forward mode", "the tangent of input \(id) has shape \(Shape(tangent.shape)), the input \(Shape(tensor.shape))")
                }
                for k in dual.scalars.indices { dual.scalars[k].tangent = tangent.scalars[k] }
            }
            try executor.setInput(id, dual)
        }
        return executor
    }

    /// `J v`: the directional derivative of `output` along the parameter direction `v`.
    public static func jvp(
        graph: Graph, parameters: ParameterStore<Double>, direction v: [Double],
        inputs: [NodeID: Tensor<Double>], inputTangents: [NodeID: Tensor<Double>] = [:], output: NodeID, batchCapacity: Int = 1
    ) throws -> (value: [Double], tangent: [Double]) {
        let executor = try dualExecutor(graph: graph, parameters: parameters, direction: v, inputs: inputs,
                                        inputTangents: inputTangents, batchCapacity: batchCapacity)
        executor.forward()
        let out = executor.value(of: output).scalars
        return (out.map(\.value), out.map(\.tangent))
    }

    /// `H v` for the scalar `loss` with respect to all parameters (forward-over-reverse).
    public static func hvp(
        graph: Graph, parameters: ParameterStore<Double>, direction v: [Double],
        inputs: [NodeID: Tensor<Double>], loss: NodeID, batchCapacity: Int = 1
    ) throws -> [Double] {
        let executor = try dualExecutor(graph: graph, parameters: parameters, direction: v, inputs: inputs, batchCapacity: batchCapacity)
        executor.forward()
        executor.backward(from: loss)
        return (0..<graph.parameterCount).map { executor.parameters.gradients[$0].tangent }
    }
}
