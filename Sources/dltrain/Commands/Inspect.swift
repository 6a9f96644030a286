import ArgumentParser
import DLData
import DLTrain
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint: the model, how it was trained, its preprocessing.",
        discussion: "Example:\n  dltrain inspect runs/digits/checkpoints/best.h5"
    )

    @Argument(help: "A checkpoint (.h5).")
    var checkpoint: String

    func run() throws {
        print(try Inspection.describe(checkpoint))
    }
}
