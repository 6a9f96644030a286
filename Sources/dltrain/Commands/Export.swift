import ArgumentParser
import DLData
import DLTrain
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint: the whole inference path as ONNX, or the weights as safetensors.",
        discussion: """
            Example:
              dltrain export runs/digits/checkpoints/best.h5 --format onnx --out digits.onnx
              dltrain export runs/digits/checkpoints/best.h5 --format safetensors --out digits.safetensors

            ONNX (opset 17): input "features" (N, raw feature columns); the stored
            preprocessing, every layer (batch norm folded into the weights) and the output:
            "probabilities" (N, classes) for classification, "predictions" (N, targets) in the
            target's units for regression (and "std" for gaussian_nll). It reproduces
            `dltrain predict` for the same checkpoint. safetensors: every parameter by its
            checkpoint name (dense_0/kernel (in, out), ...) and the preprocessing statistics.
            """
    )

    @Argument(help: "A checkpoint (.h5).")
    var checkpoint: String

    @Option(help: "onnx or safetensors.")
    var format: ModelExport.Format = .onnx

    @Option(help: "The file to write.")
    var out: String

    func run() throws {
        printError(try ModelExport.export(checkpoint: checkpoint, format: format, to: out))
    }
}

extension ModelExport.Format: ExpressibleByArgument {}
